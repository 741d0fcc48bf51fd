import CDeflate
import Foundation

/// Applies HDF5's shuffle and gzip filters to whole chunks on every core, producing the bytes HDF5 itself would
/// store (byte-shuffled, then a zlib stream), for `H5Dwrite_chunk`. libdeflate writes standard zlib streams faster
/// than zlib at the same level; any HDF5 reader (h5py included) decodes them with its ordinary gzip filter.
enum ParallelChunkCompressor {
    /// Compresses `raw` as consecutive chunks of `chunkBytes` (the last one zero-padded to full size, as HDF5 stores
    /// edge chunks) of elements of `elementSize` bytes. Returns one compressed buffer per chunk, in order.
    static func compress(_ raw: UnsafeRawBufferPointer, chunkBytes: Int, elementSize: Int, level: Int) -> [[UInt8]] {
        let chunks = (raw.count + chunkBytes - 1) / chunkBytes
        var results = [[UInt8]](repeating: [], count: chunks)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunks))
        results.withUnsafeMutableBufferPointer { slots in
            nonisolated(unsafe) let slots = slots
            nonisolated(unsafe) let raw = raw
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                guard let compressor = libdeflate_alloc_compressor(Int32(level)) else { return }
                defer { libdeflate_free_compressor(compressor) }
                var chunk = [UInt8](repeating: 0, count: chunkBytes)
                var shuffled = [UInt8](repeating: 0, count: chunkBytes)
                let bound = libdeflate_zlib_compress_bound(compressor, chunkBytes)
                var output = [UInt8](repeating: 0, count: bound)
                for c in stride(from: worker, to: chunks, by: workers) {
                    let start = c * chunkBytes
                    let length = min(chunkBytes, raw.count - start)
                    chunk.withUnsafeMutableBytes { destination in
                        destination.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)]))
                        if length < chunkBytes { destination.baseAddress!.advanced(by: length).initializeMemory(as: UInt8.self, repeating: 0, count: chunkBytes - length) }
                    }
                    shuffle(chunk, into: &shuffled, elementSize: elementSize)
                    let size = shuffled.withUnsafeBytes { input in
                        output.withUnsafeMutableBytes { out in
                            libdeflate_zlib_compress(compressor, input.baseAddress, chunkBytes, out.baseAddress, bound)
                        }
                    }
                    slots[c] = Array(output.prefix(size))
                }
            }
        }
        return results
    }

    /// HDF5's shuffle filter: byte j of element i goes to position j · n + i, so like bytes sit together.
    static func shuffle(_ input: [UInt8], into output: inout [UInt8], elementSize: Int) {
        let n = input.count / elementSize
        input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                for j in 0..<elementSize {
                    let plane = dst.baseAddress! + j * n
                    for i in 0..<n { plane[i] = src[i * elementSize + j] }
                }
            }
        }
    }
}
