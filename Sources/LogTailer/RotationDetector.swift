/// The decisions about rotation, as pure functions of what `stat` says, so they can be tested
/// without files and have one home (as the kubelet keeps `computePodActions` apart from
/// `SyncPod`).
///
/// Two kinds of rotation exist (logrotate's `create` and `copytruncate`):
/// * **rename**: the file is renamed away and a new one created at the path. The path now names
///   another identity; the old file is still open here and is read to its end, for
///   `rotateWait`, because the writer may not have reopened yet.
/// * **copytruncate**: the file is copied and then truncated in place. Same identity, but it is
///   now shorter than the offset read (or starts with other bytes, if the writer refilled it
///   past the old offset before it was looked at). Reading restarts at 0. Lines written between
///   the copy and the truncation are in neither file: no tailer can recover them, which is why
///   logrotate's own manual says copytruncate may lose data.
public enum RotationDetector {
    public enum PathChange: Equatable, Sendable {
        /// The path still names the file being read (or still names nothing).
        case unchanged
        /// A file appeared where there was none (or none opened yet).
        case appeared(FileIdentity)
        /// Rename rotation: another file is at the path now.
        case replaced(old: FileIdentity, new: FileIdentity)
        /// The file was renamed away or deleted and nothing replaced it (yet).
        case vanished(FileIdentity)
    }

    /// What happened at a path, given the identity being read for it and what `stat` finds now.
    public static func classify(reading current: FileIdentity?, atPath now: FileIdentity?) -> PathChange {
        switch (current, now) {
        case (nil, nil): return .unchanged
        case (nil, let n?): return .appeared(n)
        case (let c?, nil): return .vanished(c)
        case (let c?, let n?): return c == n ? .unchanged : .replaced(old: c, new: n)
        }
    }

    /// Of the rotated files beside a path (one picture of the directory, newest first), which
    /// are older than the generation being read at the path (`current`, the file). Normally
    /// all of them: rotation gives what is at the path the newest rotated name, so whatever
    /// already has a rotated name came before it. But the path may have moved on since it was
    /// last looked at: the file renamed away (`create`) or copied and emptied (`copytruncate`:
    /// `copies`, the rotated files that hold what was read from it), and newer generations
    /// written and rotated behind it. Then the generation is in the picture itself, and only
    /// what comes after it is older; what comes before it is newer, and is read after it,
    /// before the first lines of the next generation read at the path.
    public static func olderGenerations(than current: FileIdentity?, copies: Set<FileIdentity>, newestFirst rotated: [FileIdentity]) -> Range<Int> {
        guard let at = rotated.firstIndex(where: { $0 == current || copies.contains($0) }) else { return rotated.indices }
        return (at + 1)..<rotated.count
    }

    /// Whether a file still at the same identity was truncated since `offset` bytes were read:
    /// it is shorter now, or its first bytes changed (truncated and written past the old offset
    /// before this look).
    public static func wasTruncated(size: Int64, offset: Int64, headUnchanged: Bool) -> Bool {
        size < offset || (offset > 0 && !headUnchanged)
    }

    /// Where to start reading a file just opened: at its checkpoint if it has one (the first
    /// read then checks, with `wasTruncated` against the checkpoint's head, that the file is
    /// still the one the checkpoint is for, and recovers as from a copytruncate if not), else at
    /// the start, or at the end for a file that was there before the tailer started and
    /// `--from end` was asked for.
    public static func startOffset(checkpoint: Int64?, size: Int64, existedAtStart: Bool, fromEnd: Bool) -> Int64 {
        if let checkpoint { return checkpoint }
        return existedAtStart && fromEnd ? size : 0
    }
}
