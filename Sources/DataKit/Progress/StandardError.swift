import Foundation

/// Standard error as progress lines see it: whether it is a terminal, how wide, and writing to it.
public enum StandardError {
    /// Whether standard error is a terminal (else progress lines stay off it: pipes, files and CI logs get only whole
    /// lines).
    public static var isTerminal: Bool { isatty(STDERR_FILENO) != 0 }

    /// The terminal's width in columns (`TIOCGWINSZ`), else `$COLUMNS`, else 80.
    public static var columns: Int {
        var size = winsize()
        if ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        if let columns = ProcessInfo.processInfo.environment["COLUMNS"].flatMap(Int.init), columns > 0 { return columns }
        return 80
    }

    /// Writes `text` as it is (no newline added).
    public static func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
