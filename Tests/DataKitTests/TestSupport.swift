/// The shared test helpers (temporary folders, fixtures, assertThrows, random data, csr, FiniteDifference), visible in
/// every file of this target.
@_exported import TestSupport
