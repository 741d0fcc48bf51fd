/// The `codes` file `sk-encode` writes (`formats.md`, "Codes"): the codes of every row of a data file (dense `/codes`
/// and `/codes_std` for ES-SC, a CSR group `/codes` for SDLGM) and a header saying where they come from.
public enum CodesFile {
    /// Writes a codes file through `output`: creates it, lets `writeCodes` fill in the codes, then writes the header
    /// (attribute `model_file` = `model`, `max_active` = L0 when the codes are hard sparse codes, and the root
    /// attributes of kind `codes` whose history is `data`'s followed by `provenance`) and closes it. Returns what
    /// `writeCodes` returns; on any error nothing is left at the output path.
    public static func write<T>(to output: AtomicOutput, model: String, data: String, maxActive: Int? = nil,
                                provenance: String, codes writeCodes: (HDF5File) throws -> T) throws -> T
    {
        try output.commit { path in
            let file = try HDF5File.create(path)
            let result = try writeCodes(file)
            try file.setAttribute("model_file", .string(model))
            if let maxActive { try file.setAttribute("max_active", .int(maxActive)) }
            try file.writeHeader(kind: .codes, history: try HDF5File.open(data).history() + [provenance])
            try file.close()
            return result
        }
    }
}
