import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What `tandem sidecar logs` was asked to follow, and how.
public struct TailerOptions: Sendable {
    public var patterns: [PathPattern]
    /// For files already there at the start with no checkpoint: read them whole (the default,
    /// nothing is lost) or only what is appended from now on (`tail -F -n 0`).
    public var fromEnd = false
    /// How long a rotated-away file is still read after the path names another file: writers
    /// reopen their log only when told (logrotate's `postrotate`), and write to the old file until
    /// then. Fluent Bit's `Rotate_Wait`, same default.
    public var rotateWait: Duration = .seconds(5)
    /// The safety net under inotify: globs are expanded again and every file looked at this
    /// often even if no event came (network file systems send none; a directory created later is
    /// not watched until it is seen). Vector rescans every second, Fluent Bit every 60 s.
    public var rescanInterval: Duration = .seconds(1)
    public var maxLineBytes = 1 << 20
    /// Bytes read per `read(2)`, and so the most a batch to the sink holds per file.
    public var readChunkBytes = 1 << 20
    /// Where offsets are kept across restarts; nil keeps none.
    public var statePath: String?
    /// Read what is there and exit, instead of following.
    public var once = false

    public init(patterns: [PathPattern]) {
        self.patterns = patterns
    }
}

/// Follows files like `tail -F`, losing nothing: each path is a *slot* whose current file is
/// read by descriptor; when rotation puts another file at the path the old one is kept, read to
/// its end, and closed `rotateWait` later. Output order within a slot is the writer's order:
/// before emitting anything new from the current file, the rotated-away files are read to
/// their end once more, so a line the writer put in the old file before switching cannot come
/// out after one it put in the new file.
///
/// Each pass reads everything available and hands it to the sink in batches; a file's offset
/// is saved only after the sink took the batch (`OffsetStore`). Passes are triggered by inotify
/// (`DirectoryWatcher`) and by a periodic rescan.
public actor Tailer {
    private struct Slot {
        var current: FileIdentity?
        var draining: [FileIdentity] = []
        let fromGlob: Bool
    }

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    private let options: TailerOptions
    private let sink: any LogSink
    private let report: @Sendable (String) -> Void
    private var store: OffsetStore
    private var readers: [FileIdentity: TailedFile] = [:]
    private var slots: [String: Slot] = [:]
    private var watcher: DirectoryWatcher?
    private var stopping = false
    private var lastRescan = ContinuousClock.now
    private var batch: LineBatch?
    private var pendingCheckpoints: [FileIdentity: OffsetStore.Checkpoint] = [:]
    private var reported: Set<String> = []
    private var knownAtStart: Set<FileIdentity> = []
    private let splitter: LineSplitter

    /// Totals, for the benchmark and the exit message.
    public private(set) var linesWritten = 0
    public private(set) var bytesRead = 0

    public init(options: TailerOptions, sink: any LogSink, report: @escaping @Sendable (String) -> Void) throws {
        self.options = options
        self.sink = sink
        self.report = report
        self.store = try OffsetStore(path: options.statePath)
        self.splitter = LineSplitter(maxLineBytes: options.maxLineBytes)
    }

    /// Checks the paths before anything runs, so a typo is an error now rather than a sidecar
    /// that waits forever: a path that exists must be a readable regular file, and the
    /// directory a file is to appear in must exist (missing *files* are waited for).
    public static func validate(_ patterns: [PathPattern]) throws {
        for p in patterns {
            let dir = p.literalDirectory
            guard let st = FD.status(at: dir), (st.st_mode & S_IFMT) == S_IFDIR else {
                throw StartError(description: "\(p.pattern): directory \(dir) does not exist (files that do not exist yet are waited for, directories are not)")
            }
            for path in p.expand() {
                switch TailedFile.open(path, splitter: LineSplitter()) {
                case .missing, .file: continue
                case .failed(let why): throw StartError(description: why)
                }
            }
        }
    }

    /// Runs until `stop()` (or, with `once`, until everything there was read). A sink error
    /// ends it with that error, after saving the offsets of what was delivered.
    public func run() async throws {
        let watcher = try DirectoryWatcher()
        self.watcher = watcher
        defer { watcher.stop() }
        rescan(atStart: true)
        recoverRotatedAtStart()
        rememberRotatedAtStart()
        do {
            try await pass()
            if options.once {
                try finish()
                return
            }
            let interval = options.rescanInterval
            let ticker = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    watcher.poke()
                }
            }
            defer { ticker.cancel() }
            for await _ in watcher.wakeups {
                let changes = watcher.takeChanges()
                if stopping { break }
                if changes.structural || changes.overflow || ContinuousClock.now - lastRescan >= options.rescanInterval {
                    rescan(atStart: false)
                }
                try await pass()
                if stopping { break }
            }
            // The last look: whatever was written before the stop request goes out.
            rescan(atStart: false)
            try await pass()
            try finish()
        } catch {
            try? store.save(sync: true)
            throw error
        }
    }

    /// Asks `run` to read what is there, save its offsets and return. Unfinished last lines
    /// are not emitted: they are read again after a restart, when they are complete.
    public func stop() {
        stopping = true
        watcher?.poke()
    }

    private func finish() throws {
        try store.save(sync: true)
    }

    // MARK: - Resolving paths to files

    /// Expands the patterns and looks at what each path names now.
    private func rescan(atStart: Bool) {
        lastRescan = .now
        var seen: Set<String> = []
        for p in options.patterns {
            watcher?.watch(p.literalDirectory)
            for path in p.expand() {
                seen.insert(path)
                if slots[path] == nil { slots[path] = Slot(fromGlob: p.isGlob) }
                watcher?.watch(PathPattern.directory(of: path))
                resolve(path, atStart: atStart)
            }
        }
        // A glob's match that is gone: its file (if open) is rotated away, the slot is dropped
        // once nothing is left to read from it.
        for (path, slot) in slots where !seen.contains(path) {
            resolve(path, atStart: false)
            if slot.fromGlob, slots[path]?.current == nil, slots[path]?.draining.isEmpty ?? true {
                slots[path] = nil
            }
        }
    }

    private func resolve(_ path: String, atStart: Bool) {
        guard var slot = slots[path] else { return }
        defer { slots[path] = slot }
        let st = FD.status(at: path)
        let now = st.map(FileIdentity.init)
        switch RotationDetector.classify(reading: slot.current, atPath: now) {
        case .unchanged:
            return
        case .vanished(let old):
            retire(old, in: &slot)
        case .replaced(let old, _):
            retire(old, in: &slot)
            open(path, into: &slot, atStart: atStart)
        case .appeared:
            open(path, into: &slot, atStart: atStart)
        }
    }

    /// Generations rotated away before this tailer read any of them. When the writer is fast
    /// and rotation faster than a look (a loaded machine, `logrotate` run twice in a row), a
    /// whole generation can be written and rotated between two looks at the path: renamed
    /// before it was ever opened (`create`), or copied and truncated while the file at the
    /// path had not been read past 0 (`copytruncate`, where the truncation cannot be seen).
    /// Such a file is beside the path under a rotated name (`NAME.1`) with an identity never
    /// accounted for: not being read, no checkpoint, not there when the tailer started, and
    /// not a copy of what the path holds now (`isCopy`: also a copy logrotate is still
    /// writing, shorter than what was read). It is read whole, oldest first, just before the
    /// first lines of the file now at the path. Only generations older than that file's are:
    /// if it was itself rotated away (or copied and truncated) since the path was looked at,
    /// the newer ones behind it are read before the generation that follows it
    /// (`RotationDetector.olderGenerations`).
    private func readUnaccountedGenerations(of path: String, before current: TailedFile) async throws {
        let rotated = rotatedSiblings(of: path)
        let copies = Set(rotated.filter { (FD.status(of: $0.fd)?.st_size ?? 0) > 0 && current.isCopy($0) }.map(\.identity))
        let older = rotated[RotationDetector.olderGenerations(than: current.identity, copies: copies, newestFirst: rotated.map(\.identity))]
        let missed = older.reversed().filter {
            readers[$0.identity] == nil && store[$0.identity] == nil && pendingCheckpoints[$0.identity] == nil
                && !knownAtStart.contains($0.identity) && !current.isCopy($0)
        }
        for file in missed {
            report("\(file.path) was rotated away before it was read at \(path); reading it")
            try await readToEnd(file)
            if let last = file.flushPending() { try await emit(last, from: file) }
            pendingCheckpoints[file.identity] = file.checkpoint
        }
    }

    /// The identities of the rotated files beside each path at the start: old generations that
    /// were there before, not generations missed while running. With a saved state, a rotated
    /// file modified after the path's last checkpoint is not one of them: it is a generation
    /// written and rotated while the tailer was stopped, and is read like one missed while
    /// running. Nor is one newer than the file opened at the path at the start: rotated
    /// between that open and this look, it was written while the tailer ran.
    private func rememberRotatedAtStart() {
        for (path, slot) in slots {
            let lastCheckpoint = store.checkpoints.values.filter { $0.path == path }.map(\.updated).max()
            let rotated = rotatedSiblings(of: path)
            for file in rotated[RotationDetector.olderGenerations(than: slot.current, copies: [], newestFirst: rotated.map(\.identity))]
            where readers[file.identity] == nil {
                if let lastCheckpoint, let st = FD.status(of: file.fd), st.st_mtim.tv_sec >= lastCheckpoint { continue }
                knownAtStart.insert(file.identity)
            }
        }
    }

    /// The path no longer names `id`: keep reading it for `rotateWait`.
    private func retire(_ id: FileIdentity, in slot: inout Slot) {
        slot.current = nil
        guard let file = readers[id] else { return }
        file.rotatedAt = .now
        slot.draining.append(id)
    }

    private func open(_ path: String, into slot: inout Slot, atStart: Bool) {
        switch TailedFile.open(path, splitter: splitter) {
        case .missing:
            return
        case .failed(let why):
            reportOnce(why)
            return
        case .file(let file, let st):
            // Already being read under another name (a glob matching a rotated name): one
            // reader per file, or its lines would come out twice.
            if readers[file.identity] != nil { return }
            if let cp = store[file.identity] {
                file.resume(at: cp)
            } else {
                file.seek(to: RotationDetector.startOffset(checkpoint: nil, size: Int64(st.st_size), existedAtStart: atStart, fromEnd: options.fromEnd))
            }
            readers[file.identity] = file
            slot.current = file.identity
            reported.remove(path)
        }
    }

    /// After a restart: files with a checkpoint whose path now names another file were rotated
    /// while nothing read them. If one is still in its directory (as `access.log.1`, found by
    /// identity and head), the rest of it is read before the new file.
    private func recoverRotatedAtStart() {
        for cp in store.checkpoints.values where readers[cp.identity] == nil && slots[cp.path] != nil {
            let dir = PathPattern.directory(of: cp.path)
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { continue }
            for name in names {
                let path = dir + "/" + name
                guard let st = FD.status(at: path), FileIdentity(st) == cp.identity, Int64(st.st_size) > cp.offset,
                      case .file(let file, _) = TailedFile.open(path, splitter: splitter), file.identity == cp.identity,
                      cp.fingerprint.matches(fd: file.fd) else { continue }
                file.seek(to: cp.offset)
                file.rotatedAt = .now
                readers[cp.identity] = file
                slots[cp.path]?.draining.append(cp.identity)
                report("\(cp.path) was rotated while stopped; reading the rest of it from \(path)")
                break
            }
        }
    }

    // MARK: - Reading

    private func pass() async throws {
        for path in slots.keys.sorted() {
            // A truncation seen in the middle of reading is handled at once, not at the next event.
            for _ in 0..<4 {
                try await passSlot(path)
                guard let id = slots[path]?.current, let file = readers[id], file.truncationSeen else { break }
            }
        }
        try await closeExpired()
        try await flush()
    }

    private func passSlot(_ path: String) async throws {
        guard let slot = slots[path] else { return }
        let current = slot.current.flatMap { readers[$0] }
        if let current, current.truncationSeen || current.wasTruncated() {
            try await truncated(current, at: path)
        }
        // Each chunk of the new file is read before the old files are read to their end, and
        // written out after them: the writer wrote what the chunk holds after it switched, so
        // everything it wrote to the old files is there by the time they are read. Not more
        // than the chunk: what the new file gained while the old ones were read may have been
        // written after lines the writer added to an old file in the meantime.
        let drain = {
            for id in slot.draining {
                if let old = self.readers[id] { try await self.readRotated(old, of: path) }
            }
        }
        let fresh = current?.offset == 0
        var chunk = try current?.readChunk(maxBytes: options.readChunkBytes)
        try await drain()
        guard let current, chunk != nil else { return }
        // Its first lines: the generations missed before it come first. A file still empty at
        // that first look waits for the next pass (an inotify event brings it) to be read
        // from the start with them.
        if fresh { try await readUnaccountedGenerations(of: path, before: current) }
        while let c = chunk {
            try Task.checkCancellation()
            try await emit(c, from: current)
            chunk = try current.readChunk(maxBytes: options.readChunkBytes)
            if chunk != nil { try await drain() }
        }
    }

    /// Reads a rotated-away file to its end. One never read (it was still empty when the path
    /// moved on from it) is read like a fresh file at the path: the generations missed before
    /// it come before its first lines, or they would come out after it.
    private func readRotated(_ file: TailedFile, of path: String) async throws {
        if file.offset == 0, let first = try file.readChunk(maxBytes: options.readChunkBytes) {
            try await readUnaccountedGenerations(of: path, before: file)
            try await emit(first, from: file)
        }
        try await readToEnd(file)
    }

    /// Reads `file` to its end. Cancellation (a stop that took too long) ends it between
    /// chunks; the offsets saved are those of the lines already written out.
    private func readToEnd(_ file: TailedFile) async throws {
        while let chunk = try file.readChunk(maxBytes: options.readChunkBytes) {
            try Task.checkCancellation()
            try await emit(chunk, from: file)
        }
    }

    /// Rotated files past `rotateWait`: a last read, the unfinished line (the writer is gone)
    /// emitted as a line, then closed. Their checkpoint is kept, so a glob that matches them
    /// later resumes at their end instead of reading them again.
    private func closeExpired() async throws {
        let now = ContinuousClock.now
        for path in slots.keys.sorted() {
            guard let slot = slots[path] else { continue }
            var keep: [FileIdentity] = []
            for id in slot.draining {
                guard let file = readers[id] else { continue }
                guard let at = file.rotatedAt, now - at >= options.rotateWait, !stopping else {
                    keep.append(id)
                    continue
                }
                try await readRotated(file, of: path)
                if let last = file.flushPending() { try await emit(last, from: file) }
                pendingCheckpoints[id] = file.checkpoint
                try await flush()
                readers[id] = nil
            }
            slots[path]?.draining = keep
        }
    }

    /// copytruncate: the file was copied away and emptied. What was written after the last read
    /// and before the copy is in the copy; it is read from there (found beside the file by its
    /// head, like `access.log.1`), then the file is read again from its start. If the file was
    /// copied and truncated more than once since the last look, the newer copies (whose heads
    /// are unknown here, but whose names say they are newer: `.1` is newer than `.2`) are read
    /// whole, in order, before the file itself. Not the newest copy if it is a copy of what the
    /// file holds now: logrotate has copied the file again (or is copying it) but not yet
    /// truncated it, and those lines are read from the file; when its truncation comes, that
    /// copy is the one the rest of them is read from. "Now" is after the copies were looked at:
    /// the file may have been copied and truncated again meanwhile, and its content from before
    /// is then in a copy that is no longer the newest, to be read in its turn. (If it is
    /// truncated again after this look, the skipped copy is a generation never read, and read
    /// before the file's first lines: `readUnaccountedGenerations`.)
    private func truncated(_ file: TailedFile, at path: String) async throws {
        let from = file.committed
        let copies = rotatedSiblings(of: path).filter { $0.identity != file.identity && readers[$0.identity] == nil }
        let now = FD.head(of: file.fd, length: TailedFile.headLength)
        if let mine = copies.firstIndex(where: { file.fingerprint.matches(fd: $0.fd) }) {
            copies[mine].seek(to: from)
            for (i, copy) in copies[...mine].enumerated().reversed() {
                if i == 0, i != mine, now.starts(with: FD.head(of: copy.fd, length: TailedFile.headLength)) { continue }
                // Copies of later generations that are already known (a glob reads them, or an
                // earlier pass did) are not read again.
                if i != mine, let cp = store[copy.identity] ?? pendingCheckpoints[copy.identity], cp.fingerprint.matches(fd: copy.fd) {
                    copy.seek(to: cp.offset)
                }
                try await readToEnd(copy)
                if let last = copy.flushPending() { try await emit(last, from: copy) }
                // Remembered at its end: a glob matching the copies will not read it again.
                pendingCheckpoints[copy.identity] = copy.checkpoint
            }
        } else {
            report("\(path) was truncated (or replaced in place) and no copy of it was found beside it: lines written after offset \(from) and before the truncation may be missing")
        }
        file.restartFromBeginning()
    }

    /// Regular files beside `path` named `NAME.N` or `NAME-…` (logrotate's numbered and dateext
    /// names; not compressed ones), newest first: by number for `.N`, else by modification
    /// time. Each file once, the ones being read included (the caller decides what to skip).
    ///
    /// The picture is of one moment although logrotate may be renaming while it is taken: it
    /// shifts `.1` to `.2` (and every older name up) one rename at a time, while names listed
    /// here are opened one by one. Opened naively, a rename between two opens shows one file
    /// under two names (`.1`, then `.2`: its generation read twice, 232 lines in a CI run) and
    /// another under none (lost), with numbers that no longer tell which is older. So the
    /// picture is collected twice: after the opens the directory is listed again and each name
    /// checked to still name the file opened by it. A name only ever moves on to a newer file,
    /// so when both hold, every name named its file at the moment between the last open and
    /// the first check. Rotation that keeps moving names through `snapshotAttempts` pictures
    /// gets the last one, each file in it once.
    private func rotatedSiblings(of path: String) -> [TailedFile] {
        let dir = PathPattern.directory(of: path)
        let base = String(path[path.index(after: path.lastIndex(of: "/")!)...])
        let compressed = [".gz", ".xz", ".bz2", ".zst", ".lz4", ".Z"]
        func rotatedNames() -> Set<String>? {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
            return Set(names.filter { name in
                name != base && (name.hasPrefix(base + ".") || name.hasPrefix(base + "-")) && !compressed.contains(where: { name.hasSuffix($0) })
            })
        }
        var picture: [(file: TailedFile, name: String, number: Int, mtime: Int)] = []
        for _ in 0..<Self.snapshotAttempts {
            guard let names = rotatedNames() else { return [] }
            picture = []
            var complete = true
            for name in names {
                switch TailedFile.open(dir + "/" + name, splitter: splitter) {
                case .file(let file, let st):
                    let number = Int(name.dropFirst(base.count + 1)) ?? Int.max
                    picture.append((file, name, number, st.st_mtim.tv_sec * 1_000_000_000 + st.st_mtim.tv_nsec))
                case .missing:
                    complete = false  // renamed away since the listing
                case .failed:
                    continue  // not a regular file, or unreadable: not a generation to read
                }
            }
            if complete, rotatedNames() == names,
               picture.allSatisfy({ FD.status(at: dir + "/" + $0.name).map(FileIdentity.init) == $0.file.identity }) {
                break
            }
        }
        var seen: Set<FileIdentity> = []
        return picture.sorted { $0.number != $1.number ? $0.number < $1.number : $0.mtime > $1.mtime }
            .filter { seen.insert($0.file.identity).inserted }
            .map(\.file)
    }

    /// Pictures `rotatedSiblings` takes before it settles for one taken while names moved.
    /// logrotate's renames come in one burst per run, so the second or third is still.
    private static let snapshotAttempts = 8

    // MARK: - Writing out

    private func emit(_ chunk: LineBatch.Chunk, from file: TailedFile) async throws {
        bytesRead += chunk.bytes.count
        pendingCheckpoints[file.identity] = file.checkpoint
        guard !chunk.lines.isEmpty else { return }
        if batch == nil { batch = LineBatch(time: .now()) }
        batch!.chunks.append(chunk)
        if batch!.byteCount >= options.readChunkBytes { try await flush() }
    }

    /// Hands the batch to the sink and, once it returned, records the offsets it covered.
    private func flush() async throws {
        if let b = batch {
            batch = nil
            try await sink.write(b)
            linesWritten += b.lineCount
        }
        for cp in pendingCheckpoints.values { store.update(cp) }
        pendingCheckpoints = [:]
        try store.save()
    }

    private func reportOnce(_ message: String) {
        if reported.insert(message).inserted { report(message) }
    }
}
