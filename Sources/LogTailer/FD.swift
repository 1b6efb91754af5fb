#if canImport(Glibc)
import Glibc
#endif

/// The few raw descriptor operations the tailer needs, with EINTR and short writes handled in
/// one place.
enum FD {
    struct Error: Swift.Error, CustomStringConvertible {
        var description: String
        init(_ what: String, _ code: Int32 = errno) {
            description = "\(what): \(String(cString: strerror(code)))"
        }
        var isBrokenPipe: Bool { description.hasSuffix(String(cString: strerror(EPIPE))) }
    }

    /// Writes everything; `socket` sends with MSG_NOSIGNAL, so a receiver that hung up is an
    /// error to retry, not a SIGPIPE that kills the sidecar.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, socket: Bool = false) throws {
        var done = 0
        while done < bytes.count {
            let n = socket ? send(fd, bytes.baseAddress! + done, bytes.count - done, Int32(MSG_NOSIGNAL))
                           : write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw Error("write")
            }
            done += n
        }
    }

    /// The first `length` bytes of `fd` (fewer if it is shorter), read with `pread` so the
    /// descriptor's position is not disturbed.
    static func head(of fd: Int32, length: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: length) { buffer, count in
            count = 0
            while count < length {
                let n = pread(fd, buffer.baseAddress! + count, length - count, off_t(count))
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                count += n
            }
        }
    }

    static func status(of fd: Int32) -> Glibc.stat? {
        var st = Glibc.stat()
        return fstat(fd, &st) == 0 ? st : nil
    }

    static func status(at path: String) -> Glibc.stat? {
        var st = Glibc.stat()
        return stat(path, &st) == 0 ? st : nil
    }

    static func isRegular(_ st: Glibc.stat) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }
}
