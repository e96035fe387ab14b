import ArgumentParser
import EmoStreamCLI

/// The executable's entry point: the `emostream` command tree of EmoStreamCLI (where tests can read its flags).
@main
struct EmoStream: AsyncParsableCommand {
    static let configuration = EmoStreamCommand.configuration
}
