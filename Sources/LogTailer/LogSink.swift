/// Where lines go. `write` returns only once the lines have left this process for good (written
/// to the output descriptor; acknowledged by the HTTP receiver): the tailer saves a file's
/// offset after, and only after, that, which is what makes a restart lose nothing.
///
/// A sink that cannot deliver must not return: it retries (with back-off) or throws. There is
/// no "drop after N retries" (Promtail's way to lose data): while a sink is stuck the tailer
/// stops reading, and the files themselves are the buffer.
public protocol LogSink: Sendable {
    func write(_ batch: LineBatch) async throws
}
