import Foundation

/// `d` as "1.23 s", for the reliability table.
func seconds(_ d: Duration) -> String {
    String(format: "%.2f s", d / .seconds(1))
}

/// Appends one measured row to the file named by `EMOSTREAM_RELIABILITY_ROWS` (`scripts/reliability.sh` composes
/// `docs/reliability.md` from them); nothing without it.
func reliabilityRow(_ area: String, _ scenario: String, _ result: String) {
    guard let path = ProcessInfo.processInfo.environment["EMOSTREAM_RELIABILITY_ROWS"] else { return }
    let line = "| \(area) | \(scenario) | \(result) |\n"
    if let handle = FileHandle(forWritingAtPath: path) {
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try? handle.close()
    } else {
        FileManager.default.createFile(atPath: path, contents: Data(line.utf8))
    }
}
