import Foundation
import Testing
@testable import ContainerRuntime

/// A scratch directory for one test's container state and logs, removed at the end.
final class Scratch {
    let dir: String
    init() throws {
        dir = "/tmp/tandem-rt-test-" + UUID().uuidString.prefix(8).lowercased()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func spec(_ argv: [String], id: String = String(UUID().uuidString.prefix(16)).lowercased(),
              env: [String] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], mounts: [BindMount] = [],
              hostname: String = "testpod", netns: String? = nil, workingDir: String? = nil,
              files: [String: FileContent] = [:]) -> ContainerSpec {
        ContainerSpec(id: id, argv: argv, env: env, workingDir: workingDir, mounts: mounts, hostname: hostname,
                      netnsPath: netns, stateDir: dir + "/state/" + id, logPath: dir + "/logs/" + id + ".log",
                      imageFiles: files.isEmpty ? nil : try? ImageFiles.directory(for: files, under: dir + "/images"))
    }
}

/// Parsed CRI log records: (stream, tag, content).
func criRecords(_ path: String) throws -> [(stream: String, tag: String, text: String)] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { line in
        let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
        return (String(parts[1]), String(parts[2]), parts.count > 3 ? String(parts[3]) : "")
    }
}

/// Host pids whose command line equals `cmdline` (args joined by spaces).
func hostProcesses(matching cmdline: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { name -> Int32? in
        guard let pid = Int32(name),
              let data = FileManager.default.contents(atPath: "/proc/\(name)/cmdline") else { return nil }
        let args = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }.joined(separator: " ")
        return args == cmdline ? pid : nil
    }
}

func isAlive(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return false }
    // A zombie is dead for our purposes.
    return !stat.contains(") Z ")
}

/// The parent pid from /proc/<pid>/stat, or nil once the process is gone.
func parentPid(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 1 ? Int32(fields[1]) : nil
}

/// The pids of `pid`'s children (its main thread's, as /proc lists them).
func childPids(_ pid: Int32) -> [Int32] {
    let text = (try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? ""
    return text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
}

/// A process's nice value (field 19 of /proc/PID/stat); nil once it is gone.
func niceness(_ pid: Int32) -> Int? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 16 ? Int(fields[16]) : nil
}

/// A process's state letter (field 3 of /proc/PID/stat: "R", "S", "Z", …); nil once it is gone.
func processState(_ pid: Int32) -> String? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return nil }
    return stat[stat.index(after: close)...].split(separator: " ").first.map(String.init)
}
