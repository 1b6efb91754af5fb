import Foundation
import Testing
@testable import LogTailer
#if canImport(Glibc)
import Glibc
#endif

/// A temporary directory with the tailer's output file in it, removed when the test ends.
final class Scratch {
    let dir: String
    let outFD: Int32

    init() throws {
        dir = NSTemporaryDirectory() + "logtailer-test-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        outFD = open(dir + "/.out", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    }

    deinit {
        close(outFD)
        try? FileManager.default.removeItem(atPath: dir)
    }

    var output: [String] {
        let text = (try? String(contentsOfFile: dir + "/.out", encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    func append(_ name: String, _ text: String) throws {
        let fd = open(dir + "/" + name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FD.Error("open") }
        defer { close(fd) }
        try Array(text.utf8).withUnsafeBytes { try FD.writeAll(fd, $0) }
    }

    func options(_ patterns: [String], state: Bool = false) -> TailerOptions {
        var o = TailerOptions(patterns: patterns.map { PathPattern(dir + "/" + $0) })
        o.statePath = state ? dir + "/.state" : nil
        o.rotateWait = .milliseconds(300)
        o.rescanInterval = .milliseconds(200)
        return o
    }

    func tailer(_ o: TailerOptions, format: String = "plain") throws -> Tailer {
        try Tailer(options: o, sink: StdoutSink(fd: outFD, format: LineFormat(format)), report: { _ in })
    }

    /// Runs `once` to the end.
    func once(_ patterns: [String], state: Bool = true, format: String = "plain") async throws {
        var o = options(patterns, state: state)
        o.once = true
        try await tailer(o, format: format).run()
    }

    /// Waits (tests may poll; the tailer does not) up to 10 s for the output to satisfy `ok`.
    func waitForOutput(_ ok: ([String]) -> Bool) async -> Bool {
        for _ in 0..<200 {
            if ok(output) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return ok(output)
    }
}

/// A tailer following in the background for the length of a test.
struct Following {
    let tailer: Tailer
    let task: Task<Void, any Error>

    init(_ scratch: Scratch, _ patterns: [String], state: Bool = false) throws {
        let t = try scratch.tailer(scratch.options(patterns, state: state))
        tailer = t
        task = Task { try await t.run() }
    }

    func stop() async throws {
        await tailer.stop()
        try await task.value
    }
}

@Suite(.serialized) struct TailerTests {
    @Test func holdsTheUnfinishedLineAndResumesAfterRestart() async throws {
        let s = try Scratch()
        try s.append("a.log", "one\ntwo\nthr")
        try await s.once(["a.log"])
        #expect(s.output == ["one", "two"])
        try s.append("a.log", "ee\nfour\n")
        try await s.once(["a.log"])
        #expect(s.output == ["one", "two", "three", "four"], "resumed after the last line written, not re-read")
    }

    @Test func reusedInodeWithOtherContentIsReadFromTheStart() async throws {
        let s = try Scratch()
        try s.append("a.log", "first generation line\n")
        try await s.once(["a.log"])
        // Same inode, rewritten in place, longer than the old offset: only the head tells.
        let fd = open(s.dir + "/a.log", O_WRONLY | O_TRUNC)
        close(fd)
        try s.append("a.log", "SECOND generation, longer than the first\n")
        try await s.once(["a.log"])
        #expect(s.output == ["first generation line", "SECOND generation, longer than the first"])
    }

    @Test func followsRenameRotationWithoutLossOrReordering() async throws {
        let s = try Scratch()
        let f = try Following(s, ["app.log"])
        try s.append("app.log", "1\n2\n")
        #expect(await s.waitForOutput { $0 == ["1", "2"] })
        // Rename rotation: the writer still has the old file open and writes to it before it
        // reopens; the new file gets lines after that.
        let old = open(s.dir + "/app.log", O_WRONLY | O_APPEND)
        rename(s.dir + "/app.log", s.dir + "/app.log.1")
        try s.append("app.log", "")
        _ = write(old, "3\n4", 3)
        _ = write(old, "\n", 1)
        close(old)
        try s.append("app.log", "5\n")
        #expect(await s.waitForOutput { $0.count >= 5 })
        try await f.stop()
        #expect(s.output == ["1", "2", "3", "4", "5"])
    }

    @Test func waitsForAFileThatDoesNotExistYet() async throws {
        let s = try Scratch()
        let f = try Following(s, ["later.log"])
        try await Task.sleep(for: .milliseconds(100))
        try s.append("later.log", "hello\n")
        #expect(await s.waitForOutput { $0 == ["hello"] })
        // Deleted and created again: the new file is read from its start.
        unlink(s.dir + "/later.log")
        try s.append("later.log", "again\n")
        #expect(await s.waitForOutput { $0 == ["hello", "again"] })
        try await f.stop()
    }

    @Test func copytruncateGapIsReadFromTheCopy() async throws {
        let s = try Scratch()
        try s.append("app.log", "a1\na2\n")
        try await s.once(["app.log"])
        // Written after the last read, then copied and truncated while nothing looked.
        try s.append("app.log", "a3\n")
        try FileManager.default.copyItem(atPath: s.dir + "/app.log", toPath: s.dir + "/app.log.1")
        truncate(s.dir + "/app.log", 0)
        try s.append("app.log", "b1\nb2 longer than before\n")
        try await s.once(["app.log"])
        #expect(s.output == ["a1", "a2", "a3", "b1", "b2 longer than before"])
    }

    /// The tailer notices a copytruncate late: logrotate has already copied the file again
    /// (and is still writing that copy) but not yet truncated it. The new copy holds lines that
    /// are still in the file: read as an older generation, they came out twice (seen under
    /// heavy load with the real logrotate).
    @Test func copytruncateCopyOfTheCurrentContentIsNotReadAsAGeneration() async throws {
        let s = try Scratch()
        try s.append("app.log", "a1\na2\n")
        try await s.once(["app.log"])
        try s.append("app.log", "a3\n")
        try FileManager.default.copyItem(atPath: s.dir + "/app.log", toPath: s.dir + "/app.log.1")
        truncate(s.dir + "/app.log", 0)
        let b = "b1 the second generation\nb2\n"
        try s.append("app.log", b)
        // The next rotation, half done: .1 shifted to .2, the new .1 a partial copy of app.log.
        rename(s.dir + "/app.log.1", s.dir + "/app.log.2")
        try s.append("app.log.1", String(b.prefix(26)))
        try await s.once(["app.log"])
        #expect(s.output == ["a1", "a2", "a3", "b1 the second generation", "b2"])
        // The copy completes, the truncation comes: the rest (nothing) is read from the copy.
        try s.append("app.log.1", String(b.dropFirst(26)))
        truncate(s.dir + "/app.log", 0)
        try s.append("app.log", "c1\n")
        try await s.once(["app.log"])
        #expect(s.output == ["a1", "a2", "a3", "b1 the second generation", "b2", "c1"])
    }

    @Test func generationRotatedBeforeItWasOpenedIsStillRead() async throws {
        let s = try Scratch()
        let f = try Following(s, ["app.log"])
        try s.append("app.log", "g1\n")
        #expect(await s.waitForOutput { $0 == ["g1"] })
        // Two rotations between two looks: g2's file is created, written and renamed away
        // before the tailer could open it at app.log. The tailer's actor is kept busy meanwhile
        // by holding no lock; it only matters that g2 was never at the path when it looked,
        // which a same-instant double rename guarantees.
        rename(s.dir + "/app.log", s.dir + "/app.log.2")
        try s.append("app.log.tmp", "g2\n")
        rename(s.dir + "/app.log.tmp", s.dir + "/app.log.1")
        try s.append("app.log.new", "g3\n")
        rename(s.dir + "/app.log.new", s.dir + "/app.log")
        #expect(await s.waitForOutput { $0.count >= 3 })
        try await f.stop()
        #expect(s.output == ["g1", "g2", "g3"])
    }

    /// One file under two rotated names in one look at the directory, as a look taken while
    /// logrotate renames `.1` to `.2` showed it (here for good, with a hard link): its
    /// generation is read once.
    @Test func aGenerationUnderTwoRotatedNamesIsReadOnce() async throws {
        let s = try Scratch()
        let f = try Following(s, ["app.log"])
        try s.append("app.log", "g1\n")
        #expect(await s.waitForOutput { $0 == ["g1"] })
        rename(s.dir + "/app.log", s.dir + "/app.log.3")
        try s.append("app.log.tmp", "g2\n")
        rename(s.dir + "/app.log.tmp", s.dir + "/app.log.2")
        #expect(link(s.dir + "/app.log.2", s.dir + "/app.log.1") == 0)
        try s.append("app.log.new", "g3\n")
        rename(s.dir + "/app.log.new", s.dir + "/app.log")
        #expect(await s.waitForOutput { $0.count >= 3 })
        try await f.stop()
        #expect(s.output == ["g1", "g2", "g3"])
    }

    /// Generations missed before the file now read are read before its first lines, but only
    /// those older than it: if the path moved on since it was looked at, the file (or, for
    /// copytruncate, its copy) is among the rotated ones, and those before it are newer.
    @Test func olderGenerationsAreThoseBehindTheGenerationBeingRead() {
        let rotated = (1...4).map { FileIdentity(device: 1, inode: UInt64($0)) }  // .1 ... .4
        let atPath = FileIdentity(device: 1, inode: 9)
        #expect(RotationDetector.olderGenerations(than: atPath, copies: [], newestFirst: rotated) == 0..<4)
        #expect(RotationDetector.olderGenerations(than: nil, copies: [], newestFirst: rotated) == 0..<4)
        // Renamed away to .3 since the last look: .1 and .2 were written after it.
        #expect(RotationDetector.olderGenerations(than: rotated[2], copies: [], newestFirst: rotated) == 3..<4)
        // Copied to .2 and truncated since the last look.
        #expect(RotationDetector.olderGenerations(than: atPath, copies: [rotated[1]], newestFirst: rotated) == 2..<4)
        #expect(RotationDetector.olderGenerations(than: rotated[3], copies: [], newestFirst: rotated).isEmpty)
    }

    @Test func generationsWrittenAndRotatedWhileStoppedAreRead() async throws {
        let s = try Scratch()
        try s.append("app.log", "1\n")
        try await s.once(["app.log"])
        // While stopped: more lines, then two rotations. The checkpointed file is now
        // app.log.2 and its rest is read from there; the middle generation was never seen.
        try s.append("app.log", "2\n")
        rename(s.dir + "/app.log", s.dir + "/app.log.1")
        try s.append("app.log", "3\n")
        rename(s.dir + "/app.log.1", s.dir + "/app.log.2")
        rename(s.dir + "/app.log", s.dir + "/app.log.1")
        try s.append("app.log", "4\n")
        try await s.once(["app.log"])
        #expect(s.output == ["1", "2", "3", "4"])
    }

    @Test func globPicksUpNewFilesAndNeverReadsARenamedFileTwice() async throws {
        let s = try Scratch()
        try s.append("a.log", "a\n")
        let f = try Following(s, ["*.log*"])
        #expect(await s.waitForOutput { $0 == ["a"] })
        try s.append("b.log", "b\n")
        #expect(await s.waitForOutput { $0.count == 2 })
        rename(s.dir + "/a.log", s.dir + "/a.log.1")
        try s.append("a.log.1", "a-after-rename\n")
        #expect(await s.waitForOutput { $0.count == 3 })
        // Past rotate-wait and several rescans: a.log.1 matches the glob but is the same file.
        try await Task.sleep(for: .milliseconds(800))
        try await f.stop()
        #expect(s.output.sorted() == ["a", "a-after-rename", "b"])
    }

    @Test func stateFileRoundTripAndCorruptStateIsAnError() throws {
        let s = try Scratch()
        var store = try OffsetStore(path: s.dir + "/st.json")
        let cp = OffsetStore.Checkpoint(path: "/x", identity: FileIdentity(device: 1, inode: 2),
                                        fingerprint: Fingerprint(bytes: Array("abc".utf8)), offset: 3, updated: 0)
        store.update(cp)
        try store.save(sync: true)
        #expect(try OffsetStore(path: s.dir + "/st.json")[FileIdentity(device: 1, inode: 2)] == cp)
        try "not json".write(toFile: s.dir + "/bad.json", atomically: true, encoding: .utf8)
        #expect(throws: OffsetStore.LoadError.self) { try OffsetStore(path: s.dir + "/bad.json") }
    }

    @Test func validationRefusesWhatCannotBeFollowed() throws {
        let s = try Scratch()
        #expect(throws: Tailer.StartError.self) { try Tailer.validate([PathPattern(s.dir + "/nodir/x.log")]) }
        #expect(throws: Tailer.StartError.self) { try Tailer.validate([PathPattern(s.dir)]) }
        try Tailer.validate([PathPattern(s.dir + "/not-yet.log"), PathPattern(s.dir + "/*.log")])
    }
}
