#if canImport(Glibc)
import Glibc
#endif

/// Which file a descriptor or path refers to, independent of its name. Log rotation renames and
/// recreates files, so a name says little; (st_dev, st_ino) says which file it is *now*. Inodes
/// are reused once a file is deleted, so an identity restored from disk after a restart is only
/// trusted when the file still starts with the same bytes (see `Fingerprint`): that is the
/// failure Fluent Bit's inode-only database and Vector's `device_and_inode` strategy run into.
public struct FileIdentity: Hashable, Sendable, Codable, CustomStringConvertible {
    public var device: UInt64
    public var inode: UInt64

    public init(device: UInt64, inode: UInt64) {
        self.device = device
        self.inode = inode
    }

    public init(_ st: stat) {
        self.init(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    public var description: String { "\(device):\(inode)" }
}

/// A hash of a file's first bytes (up to `maxLength`). Stored beside the identity so that a
/// reused inode, or a file truncated and rewritten in place (copytruncate), is told apart from
/// the file an offset was recorded for. A short file's fingerprint grows as the file does: it
/// is recomputed until it covers `maxLength` bytes, and compared over its own length only.
public struct Fingerprint: Hashable, Sendable, Codable {
    public static let maxLength = 256

    public var length: Int
    public var hash: UInt64

    public init(length: Int, hash: UInt64) {
        self.length = length
        self.hash = hash
    }

    public init<C: Collection>(bytes: C) where C.Element == UInt8 {
        // FNV-1a, 64 bit: enough to tell two log heads apart, and cheap.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100_0000_01b3
        }
        self.init(length: bytes.count, hash: h)
    }

    public var isComplete: Bool { length >= Self.maxLength }

    /// The fingerprint of `fd`'s first `length` bytes (fewer if the file is shorter), read
    /// with `pread` so the descriptor's position is not disturbed.
    public static func read(fd: Int32, length: Int = maxLength) -> Fingerprint {
        Fingerprint(bytes: FD.head(of: fd, length: length))
    }

    /// Whether `fd` still starts with the bytes this fingerprint was taken of.
    public func matches(fd: Int32) -> Bool {
        Fingerprint.read(fd: fd, length: length) == self
    }
}
