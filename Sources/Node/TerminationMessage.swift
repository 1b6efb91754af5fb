import Foundation

/// An exited container's termination message, read as the kubelet reads it
/// (`getTerminationMessage` and `readLastStringFromContainerLogs` in kuberuntime_container.go):
/// the end of the file at `terminationMessagePath`; with `FallbackToLogsOnError` and a non-zero
/// exit, the end of the container's log when that file is empty or missing.
enum TerminationMessage {
    /// `MaxContainerTerminationMessageLength`: the file's last 4 KiB.
    static let maxFileBytes = 4096
    /// `MaxContainerTerminationMessageLogLines` and `…LogLength`: the log's last 80 lines, and of
    /// those the last 2 KiB.
    static let maxLogLines = 80
    static let maxLogBytes = 2048

    static func read(file: String, log: String?, fallbackToLogs: Bool) -> String? {
        var checkLogs = fallbackToLogs
        if let handle = FileHandle(forReadingAtPath: file) {
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            try? handle.seek(toOffset: size - min(size, UInt64(maxFileBytes)))
            let data = (try? handle.readToEnd()) ?? Data()
            if !data.isEmpty { return String(decoding: data, as: UTF8.self) }
            checkLogs = fallbackToLogs
        }
        guard checkLogs, let log else { return nil }
        let text = lastLines(ofCRILog: log, lines: maxLogLines)
        return text.isEmpty ? nil : String(decoding: text.suffix(maxLogBytes), as: UTF8.self)
    }

    /// What `ReadLogs` with `tailLines` writes for the file's last `lines` records, stdout and
    /// stderr alike: each record's content, a full line's with its newline.
    static func lastLines(ofCRILog path: String, lines: Int) -> [UInt8] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        var end = (try? handle.seekToEnd()) ?? 0
        // Read back far enough for `lines` records (each at most 16 KiB of content) and no further.
        var tail: [UInt8] = []
        var newlines = 0
        let chunk: UInt64 = 64 << 10, limit = UInt64(lines + 1) * (17 << 10)
        while end > 0, UInt64(tail.count) < limit, newlines <= lines {
            let start = end - min(end, chunk)
            try? handle.seek(toOffset: start)
            let read = [UInt8]((try? handle.read(upToCount: Int(end - start))) ?? Data())
            newlines += read.lazy.filter { $0 == UInt8(ascii: "\n") }.count
            tail = read + tail
            end = start
        }
        var records = tail.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if records.last?.isEmpty == true { records.removeLast() }
        // The first record is cut unless the file's start was reached.
        if end > 0, !records.isEmpty { records.removeFirst() }
        var out: [UInt8] = []
        for record in records.suffix(lines) {
            let fields = record.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count >= 3 else { continue }
            if fields.count > 3 { out += fields[3] }
            if fields[2].elementsEqual("F".utf8) { out.append(UInt8(ascii: "\n")) }
        }
        return out
    }
}
