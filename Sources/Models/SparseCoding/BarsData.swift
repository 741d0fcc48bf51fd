import DataKit

/// The bars test of sparse coding (`es-sc.md`): 5 horizontal and 5 vertical bars on a 5 × 5 image (D = 25, H = 10),
/// sources z ~ Laplace(0, 1), x = W z + noise of standard deviation 0.1.
public enum BarsData {
    /// The generating W (25 × 10): column h < 5 is horizontal bar h, column h ≥ 5 vertical bar h − 5; bar pixels
    /// have value `amplitude`.
    public static func generatingW(size: Int = 5, amplitude: Float = 1) -> Matrix {
        var w = Matrix(rows: size * size, cols: 2 * size)
        for bar in 0..<size {
            for k in 0..<size {
                w[bar * size + k, bar] = amplitude  // horizontal: row `bar`
                w[k * size + bar, size + bar] = amplitude  // vertical: column `bar`
            }
        }
        return w
    }

    /// `count` points (count × 25) and their sources (count × 10), seeded.
    public static func sample(count: Int, noise: Double = 0.1, size: Int = 5, seed: UInt64) -> (x: Matrix, z: Matrix, w: Matrix) {
        var g = SeededGenerator(seed: seed)
        let w = generatingW(size: size)
        let z = Matrix(rows: count, cols: 2 * size, storage: (0..<(count * 2 * size)).map { _ in Float(g.laplace()) })
        var x = Matrix.product(z, w, transposeB: true)
        for i in x.storage.indices { x.storage[i] += Float(noise * g.normal()) }
        return (x, z, w)
    }
}
