/// Where lines go. `write` returns only once the lines have left this process for good (written
/// to the output descriptor; acknowledged by the HTTP receiver): the tailer saves a file's
/// offset after, and only after, that, which is what makes a restart lose nothing.
///
/// A sink that cannot deliver must not return: it retries (with back-off) or throws. There is
/// no "drop after N retries" (Promtail's way to lose data): while a sink is stuck the tailer
/// stops reading, and the files themselves are the buffer.
///
/// `write` runs on the caller's executor (`nonisolated(nonsending)`): the tailer calls it once
/// per chunk read, and a hop to the global executor and back for each would cost two thread
/// switches per chunk on a busy machine, more than writing the chunk itself.
public protocol LogSink: Sendable {
    nonisolated(nonsending) func write(_ batch: LineBatch) async throws
}
