import ContainerRuntime
import Foundation
import Testing
@testable import Node

/// Directories made ahead: what a taken one holds, that nothing existing is ever replaced, the
/// refill's delay, and that nothing of the pool outlives `drain` or a killed run.
@Suite struct PodDirectoryPoolTests {
    /// A scratch root, removed afterwards whatever the test did.
    func withRoot(_ body: (String) async throws -> Void) async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-dirpool-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/pods", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try await body(root)
    }

    func entries(_ path: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func mode(_ path: String) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? nil
    }

    /// Waits (a bounded number of short sleeps) until the pool has `count` directories ready.
    func waitForReady(_ pool: PodDirectoryPool, count: Int) async throws {
        for _ in 0..<400 where pool.readyCount < count { try await Task.sleep(for: .milliseconds(5)) }
        #expect(pool.readyCount == count)
        #expect(entries(pool.directory).count == count)
    }

    @Test func takenDirectoriesHoldTheFirstFilesAndAreRefilledAfterTheDelay() async throws {
        try await withRoot { root in
            let pool = PodDirectoryPool(root: root, pods: 1, containers: 2, refillDelay: .milliseconds(300))
            try await waitForReady(pool, count: 3)

            let podDir = root + "/pods/default_web_uid-1"
            let taken = ContinuousClock.now
            #expect(pool.takePod(at: podDir))
            #expect(entries(podDir) == ["etc-hosts", "hostname"])
            #expect(pool.takeContainer(at: podDir + "/app"))
            #expect(entries(podDir + "/app") == ["0.log.created", "termination-0.log"])
            // Any user the container runs as writes its termination message.
            #expect(mode(podDir + "/app/termination-0.log") == 0o666)
            #expect(mode(podDir + "/app/0.log.created") == 0o640)
            #expect(try String(contentsOfFile: podDir + "/app/termination-0.log", encoding: .utf8).isEmpty)

            // No pod directory is left until the delay has passed since the last take.
            #expect(!pool.takePod(at: root + "/pods/default_web_uid-2"))
            #expect(!FileManager.default.fileExists(atPath: root + "/pods/default_web_uid-2"))
            try await Task.sleep(for: .milliseconds(100))
            let left = pool.readyCount
            // Checked only while the delay has surely not passed (a slow machine may sleep longer).
            if ContinuousClock.now - taken < .milliseconds(250) { #expect(left == 1, "refilled before its delay: \(left)") }
            try await waitForReady(pool, count: 3)
            await pool.drain()
        }
    }

    @Test func anExistingDirectoryIsNeverReplaced() async throws {
        try await withRoot { root in
            let pool = PodDirectoryPool(root: root, pods: 2, containers: 1, refillDelay: .seconds(60))
            try await waitForReady(pool, count: 3)
            #expect(pool.takePod(at: root + "/pods/default_first_uid-0"))
            // An earlier instance's directory, even an empty one (rename(2) would replace that).
            let podDir = root + "/pods/default_web_uid-1"
            try FileManager.default.createDirectory(atPath: podDir + "/app", withIntermediateDirectories: true)
            try Data("0 log".utf8).write(to: URL(fileURLWithPath: podDir + "/0.log"))
            let empty = root + "/pods/default_empty_uid-2"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)

            #expect(!pool.takePod(at: podDir))
            #expect(!pool.takeContainer(at: podDir + "/app"))
            #expect(!pool.takePod(at: empty))
            // Not used up: what stays in place stays ready (the refill is a minute away).
            #expect(pool.readyCount == 2)
            #expect(entries(podDir) == ["0.log", "app"])
            #expect(entries(podDir + "/app").isEmpty)
            #expect(entries(empty).isEmpty)
            await pool.drain()
        }
    }

    @Test func drainAndAKilledRunLeaveNothing() async throws {
        try await withRoot { root in
            let pool = PodDirectoryPool(root: root, pods: 2, containers: 2)
            try await waitForReady(pool, count: 4)
            #expect(pool.takeContainer(at: root + "/pods/c"))
            // Drained during the refill's delay: the refill must not make anything afterwards.
            await pool.drain()
            try await Task.sleep(for: .milliseconds(150))
            #expect(!FileManager.default.fileExists(atPath: pool.directory))
            #expect(!pool.takePod(at: root + "/pods/p"))

            // What a killed run left is removed by the next one before it makes its own.
            // (A pid above any pid_max is never alive; a live process's pool is left alone.)
            try FileManager.default.createDirectory(atPath: root + "/pods/.ready-2147483646/p-stale", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: root + "/pods/.ready-1/p-live", withIntermediateDirectories: true)
            let next = PodDirectoryPool(root: root, pods: 1, containers: 0)
            try await waitForReady(next, count: 1)
            let pools = entries(root + "/pods").filter { $0.hasPrefix(".ready-") }
            #expect(pools == [".ready-1", next.directory.split(separator: "/").last.map(String.init) ?? ""].sorted(), "\(pools)")
            await next.drain()
            #expect(!FileManager.default.fileExists(atPath: next.directory))
        }
    }
}

/// `Sys.writeFileInPlace`, which the pod worker writes a ready directory's files with: the same
/// content as a truncating write, whatever the file held before.
@Suite struct WriteFileInPlaceTests {
    @Test func endsWithExactlyTheBytesWritten() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tandem-inplace-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/etc-hosts"
        func read() throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

        try Sys.writeFileInPlace(path, "missing before\n".utf8)
        #expect(try read() == "missing before\n")
        try Sys.writeFileInPlace(path, "short\n".utf8)
        #expect(try read() == "short\n")
        try Sys.writeFileInPlace(path, "a longer line than before\n".utf8)
        #expect(try read() == "a longer line than before\n")
        try Sys.writeFileInPlace(path, [UInt8]())
        #expect(try read() == "")
        FileManager.default.createFile(atPath: dir + "/empty", contents: nil)
        try Sys.writeFileInPlace(dir + "/empty", "x\n".utf8)
        #expect(try String(contentsOfFile: dir + "/empty", encoding: .utf8) == "x\n")
    }
}
