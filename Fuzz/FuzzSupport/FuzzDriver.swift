import Foundation

/// What a fuzz target tests: one input, arbitrary bytes. It returns 0, or traps (`FuzzCheck.require`) when the
/// code under test misbehaves.
public typealias FuzzTarget = @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt

#if FUZZING
/// libFuzzer's entry point when the program has its own `main` (`-sanitize=fuzzer` links libFuzzer, whose `main`
/// is not linked because SwiftPM's executable already defines one).
@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: FuzzTarget
) -> CInt
#endif

/// The `main` of every fuzz target.
///
/// Built by `scripts/fuzz.sh` (`-sanitize=fuzzer,address -D FUZZING`) it is libFuzzer, taking libFuzzer's flags and
/// corpus directories. In a normal build it replays inputs instead: `swift run FuzzRecords FILE|DIR…` runs the
/// target once on each file (a crasher, a corpus), so a crash reproduces without the sanitizer toolchain.
public enum FuzzDriver {
    public static func main(_ target: FuzzTarget, writeSeeds: ((URL) throws -> Void)? = nil) -> Never {
        #if FUZZING
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, target))
        #else
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--write-seeds", arguments.count == 2, let writeSeeds {
            do {
                let directory = URL(fileURLWithPath: arguments[1], isDirectory: true)
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
                try writeSeeds(directory)
                exit(0)
            } catch {
                FuzzCheck.report("cannot write the seeds: \(error)")
                exit(1)
            }
        }
        if arguments.isEmpty || arguments.contains(where: { $0.hasPrefix("-") }) {
            FuzzCheck.report(
                "usage: \(CommandLine.arguments[0]) FILE|DIR… (replays inputs)"
                    + (writeSeeds == nil ? "" : " | --write-seeds DIR"))
            exit(2)
        }
        var files: [String] = []
        for path in arguments.sorted() {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                FuzzCheck.report("no such file: \(path)")
                exit(2)
            }
            if isDirectory.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
                files += names.sorted().map { path + "/" + $0 }
            } else {
                files.append(path)
            }
        }
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            data.withUnsafeBytes { bytes in
                _ = target(bytes.bindMemory(to: UInt8.self).baseAddress, bytes.count)
            }
        }
        FuzzCheck.report("replayed \(files.count) input(s), no failure")
        exit(0)
        #endif
    }
}

/// Checks of a fuzz target: a failed check is a crash libFuzzer records (and a replay reproduces).
public enum FuzzCheck {
    public static func require(
        _ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line
    ) {
        guard !condition else { return }
        report("\(file):\(line): check failed: \(message())")
        abort()
    }

    /// Writes a line to stderr (a fuzz executable, not library code: there is no logger to bootstrap).
    public static func report(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
