import CTandemInit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The CRI's `PortForward` connection: `localhost:PORT` inside the pod's network namespace,
/// IPv4 first and IPv6 if that fails, as containerd's `portForward` dials it.
public enum PodPortConnect {
    /// Why the connection failed, worded as containerd words it (Go's dial errors included),
    /// since the kubelet passes that text on to kubectl.
    public struct Failure: Error, Sendable {
        public let message: String
    }

    /// Connects to `port` on the loopback of the network namespace at `netnsPath` (nil: the
    /// node's own, for hostNetwork pods) and returns the connected socket, which the caller
    /// owns. A socket belongs to the namespace it was created in, so the socket is made on a
    /// thread of its own that first enters the namespace (setns moves only the calling thread)
    /// and then ends; the namespace `sandboxID` names appears in the error text.
    public static func connect(netnsPath: String?, port: UInt16, sandboxID: String) async throws(Failure) -> Int32 {
        let result: Result<Int32, Failure> = await withCheckedContinuation { continuation in
            let thread = Thread {
                continuation.resume(returning: connectHere(netnsPath: netnsPath, port: port, sandboxID: sandboxID))
            }
            thread.name = "port-forward"
            thread.start()
        }
        return try result.get()
    }

    private static func connectHere(netnsPath: String?, port: UInt16, sandboxID: String) -> Result<Int32, Failure> {
        if let netnsPath {
            let ns = open(netnsPath, O_RDONLY | O_CLOEXEC)
            guard ns >= 0 else { return .failure(Failure(message: "failed to open network namespace \(netnsPath): \(String(cString: strerror(errno)))")) }
            defer { close(ns) }
            guard tandem_setns_net(ns) == 0 else {
                return .failure(Failure(message: "failed to enter network namespace \(netnsPath): \(String(cString: strerror(errno)))"))
            }
        }
        switch dial(ipv6: false, port: port) {
        case .success(let fd): return .success(fd)
        case .failure(let v4):
            switch dial(ipv6: true, port: port) {
            case .success(let fd): return .success(fd)
            case .failure(let v6):
                return .failure(Failure(message: "failed to connect to localhost:\(port) inside namespace \"\(sandboxID)\", IPv4: \(v4.message) IPv6 \(v6.message) "))
            }
        }
    }

    /// errno as Go's syscall package spells it: glibc's text with a lower-case first letter
    /// ("connection refused", "cannot assign requested address").
    private static func goErrorText(_ code: Int32) -> String {
        let text = String(cString: strerror(code))
        return text.prefix(1).lowercased() + text.dropFirst()
    }

    /// One blocking connect to the loopback address; the error reads as Go's `net.Dial`'s.
    private static func dial(ipv6: Bool, port: UInt16) -> Result<Int32, Failure> {
        let family = ipv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        let address = ipv6 ? "dial tcp6 [::1]:\(port)" : "dial tcp4 127.0.0.1:\(port)"
        guard fd >= 0 else { return .failure(Failure(message: "\(address): socket: \(String(cString: strerror(errno)))")) }
        var status: Int32
        if ipv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_addr = in6addr_loopback
            status = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
        } else {
            var sa = sockaddr_in()
            sa.sin_family = sa_family_t(AF_INET)
            sa.sin_port = port.bigEndian
            sa.sin_addr.s_addr = UInt32(INADDR_LOOPBACK).bigEndian
            status = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        }
        guard status == 0 else {
            let message = "\(address): connect: \(goErrorText(errno))"
            close(fd)
            return .failure(Failure(message: message))
        }
        return .success(fd)
    }
}
