import Foundation

/// The one checked path for memory whose size comes from input or options (a header's extent, a PNG's width and
/// height, `--latents`, `--hidden`, a label index): sizes are multiplied with overflow checks and compared, before
/// any work, with what this process may allocate, so a size the machine cannot hold ends in one line and exit 70
/// instead of an abort in Swift's allocator (exit 134). Input that declares more than it could contain (a PNG whose
/// pixels could not come from its compressed bytes) is the reader's to refuse first, with exit 65 (`declared`).
public enum MemoryBudget {
    /// One allocation: what it holds (for the message), the factors of its element count, and the element size.
    public struct Need: Sendable, Equatable {
        public var what: String
        public var factors: [Int]
        public var elementSize: Int

        public init(_ what: String, _ factors: [Int], elementSize: Int) {
            self.what = what
            self.factors = factors
            self.elementSize = elementSize
        }

        /// An array of `Float` (4 bytes) with the product of `factors` elements.
        public static func floats(_ what: String, _ factors: Int...) -> Need { Need(what, factors, elementSize: 4) }
        /// An array of 8-byte elements (`Double`, `Int`, `Int64`) with the product of `factors` elements.
        public static func words(_ what: String, _ factors: Int...) -> Need { Need(what, factors, elementSize: 8) }

        /// The bytes, or nil when the product overflows `Int` or a factor is negative.
        public var bytes: Int? { MemoryBudget.product(factors + [elementSize]) }
    }

    /// The product of `factors`, or nil when it overflows `Int` or a factor is negative: the checked multiplication
    /// for every product of user-given or file-declared sizes.
    public static func product(_ factors: [Int]) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (next, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The product of `factors` for an allocation of `what`, throwing exit 70 when it overflows (`Int.max / 2` at most,
    /// so a following `+ 1` cannot overflow either).
    public static func checkedProduct(_ factors: [Int], for what: String, file: String? = nil) throws -> Int {
        guard let result = product(factors), result <= Int.max / 2 else {
            throw SparseKitError(.internal, file: file, "\(what) needs more than 8 EiB of memory, more than any machine holds")
        }
        return result
    }

    /// The sum of `terms`, or nil when it overflows or a term is nil.
    public static func sum(_ terms: [Int?]) -> Int? {
        var result = 0
        for term in terms {
            guard let term else { return nil }
            let (next, overflow) = result.addingReportingOverflow(term)
            if overflow { return nil }
            result = next
        }
        return result
    }

    /// The bytes this process may hold at most, and what sets the bound: physical memory, or the soft address-space
    /// (`ulimit -v`, `prlimit --as`) or data-segment limit when smaller.
    public static var limit: (bytes: Int, reason: String) {
        var best = (bytes: Int(clamping: ProcessInfo.processInfo.physicalMemory), reason: "this machine's memory")
        for (resource, name) in [(RLIMIT_AS, "the address-space limit"), (RLIMIT_DATA, "the data-size limit")] {
            var bound = rlimit()
            #if os(Linux)
            let status = getrlimit(__rlimit_resource_t(resource.rawValue), &bound)
            #else
            let status = getrlimit(resource, &bound)
            #endif
            if status == 0, bound.rlim_cur != rlim_t.max, Int(clamping: bound.rlim_cur) < best.bytes {
                best = (Int(clamping: bound.rlim_cur), name)
            }
        }
        return best
    }

    /// Requires that `needs`, all held at once, fit in what this process may allocate; otherwise throws exit 70 naming
    /// `what` (with `file` when the sizes come from a file) and the bytes, followed by `hint` when given.
    public static func require(_ needs: [Need], for what: String, file: String? = nil, hint: String? = nil) throws {
        let total = sum(needs.map(\.bytes))
        let largest = needs.max { ($0.bytes ?? .max) < ($1.bytes ?? .max) }
        let detail = needs.count > 1 && largest != nil ? " (the largest: \(largest!.what), \(describe(largest!.bytes)))" : ""
        try require(bytes: total, for: what + detail, file: file, hint: hint)
    }

    /// Requires that `bytes` (nil: a product that overflowed) fit in what this process may allocate now: below the
    /// limit, and (for 64 MiB and more) reservable in the address space as it stands. Throws exit 70 otherwise.
    public static func require(bytes: Int?, for what: String, file: String? = nil, hint: String? = nil) throws {
        let (available, reason) = limit
        func refuse(_ why: String) -> SparseKitError {
            SparseKitError(.internal, file: file, "\(what) needs \(describe(bytes)) of memory, more than \(why)"
                + (hint.map { "; " + $0 } ?? ""))
        }
        guard let bytes, bytes <= available else { throw refuse("\(reason) (\(describe(available)))") }
        guard bytes >= 64 << 20 else { return }
        // Reserving the bytes says whether an array of them can be allocated: an anonymous mapping counts against
        // the address-space and data limits as the array would, and is unmapped at once without touching a page.
        // (Not malloc: the optimizer may drop a malloc-free pair as unused.)
        let reserved = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let reserved, reserved != MAP_FAILED else {
            throw refuse("this process may allocate (an address-space or memory limit)")
        }
        munmap(reserved, bytes)
    }

    /// `1.91 GiB`, `12.0 MiB` or `512 bytes`; "more than 8 EiB" for an overflowed size.
    public static func describe(_ bytes: Int?) -> String {
        guard let bytes else { return "more than 8 EiB" }
        if bytes >= 1 << 30 { return String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) }
        if bytes >= 1 << 20 { return String(format: "%.1f MiB", Double(bytes) / Double(1 << 20)) }
        return "\(bytes) bytes"
    }
}
