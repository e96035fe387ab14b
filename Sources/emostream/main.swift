import ArgumentParser
import EmoStreamCLI

// The commands live in EmoStreamCLI, where tests can read their flags; this is what
// `AsyncParsableCommand.main()` does, written out so that the async path is the one taken.
do {
    var command = try EmoStreamCommand.parseAsRoot()
    if var command = command as? any AsyncParsableCommand {
        try await command.run()
    } else {
        try command.run()
    }
} catch {
    EmoStreamCommand.exit(withError: error)
}
