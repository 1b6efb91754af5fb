import Foundation

/// What a host command (`ip`, a CNI plugin) returned.
struct HostCommandResult: Sendable {
    var status: Int32
    var stdout: [UInt8]
    var stderr: [UInt8]

    var stdoutString: String { String(decoding: stdout, as: UTF8.self) }
    var stderrString: String { String(decoding: stderr, as: UTF8.self) }
}

struct HostCommandError: Error, CustomStringConvertible {
    var description: String
}

/// The network sandbox's host tools, `ip netns …` and the CNI plugin binaries, run through
/// `Command` (the runtime's one spawn-and-reap path) with two things of their own: an explicit
/// environment (libcni passes `CNI_*` variables, nothing else of tandem's), and background
/// priority for work nobody waits for.
enum HostCommand {
    /// Work nobody waits for (refilling the pool of ready sandboxes) runs its commands under
    /// `nice -n 19`, so that on a small machine it yields the CPU to the pod starting meanwhile.
    @TaskLocal static var inBackground = false

    static func run(_ path: String, _ arguments: [String], environment: [String: String]? = nil,
                    stdin: [UInt8] = []) async throws -> HostCommandResult {
        let argv = inBackground ? ["/usr/bin/nice", "-n", "19", path] + arguments : [path] + arguments
        let r = try await Command.run(argv, env: environment.map { $0.map { "\($0.key)=\($0.value)" } },
                                      stdin: stdin.isEmpty ? nil : Data(stdin))
        return HostCommandResult(status: r.status, stdout: Array(r.stdout), stderr: Array(r.stderr))
    }

    /// Convenience: runs the command and throws when it exits non-zero.
    @discardableResult
    static func check(_ path: String, _ arguments: [String]) async throws -> HostCommandResult {
        let r = try await run(path, arguments)
        guard r.status == 0 else {
            throw HostCommandError(description: "\(([path] + arguments).joined(separator: " ")): exit \(r.status): \(r.stderrString.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return r
    }
}
