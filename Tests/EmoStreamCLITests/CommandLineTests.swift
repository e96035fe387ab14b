import Testing

/// Every suite that parses the commands runs one test at a time: swift-argument-parser's parsing and help
/// generation are not safe to run concurrently in one process (two at once crashed with a dangling string).
@Suite(.serialized) enum CommandLineTests {}
