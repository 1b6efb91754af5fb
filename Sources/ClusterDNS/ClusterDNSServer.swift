import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// The pods' DNS server (CoreDNS's job on a cluster): answers the cluster domain from a
/// `ClusterZone` and relays every other query to the host's resolver, over UDP on one event loop.
/// It listens on an unprivileged port of the host; the proxy's rules redirect the cluster DNS
/// Service address (port 53) to it, from the pods and from the host alike.
public final class ClusterDNSServer: Sendable {
    public let port: Int
    private let zone: ZoneBox
    private let group: MultiThreadedEventLoopGroup
    private let channels: [any Channel]

    /// The TTL of cluster answers: CoreDNS's `kubernetes` plugin default.
    static let ttl: UInt32 = 5
    /// How long a forwarded query waits for the upstream's answer before it is forgotten (the
    /// client's resolver retries on its own).
    static let forwardTimeout = TimeAmount.seconds(5)

    private init(port: Int, zone: ZoneBox, group: MultiThreadedEventLoopGroup, channels: [any Channel]) {
        self.port = port
        self.zone = zone
        self.group = group
        self.channels = channels
    }

    /// Binds `host:port` (0: any free port) and relays non-cluster queries to `upstream:upstreamPort`.
    public static func start(host: String = "0.0.0.0", port: Int = 0, upstream: String, upstreamPort: Int = 53,
                             domain: String = "cluster.local") async throws -> ClusterDNSServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let zone = ZoneBox(ClusterZone(domain: domain))
        let upstreamAddress = try SocketAddress(ipAddress: upstream, port: upstreamPort)
        do {
            let relay = Relay(upstream: upstreamAddress, loop: loop)
            let upstreamChannel = try await DatagramBootstrap(group: loop)
                .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(UpstreamHandler(relay: relay)) } }
                .bind(host: upstream.contains(":") ? "::" : "0.0.0.0", port: 0).get()
            relay.upstreamChannel = upstreamChannel
            let server = try await DatagramBootstrap(group: loop)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelInitializer { ch in ch.eventLoop.makeCompletedFuture { try ch.pipeline.syncOperations.addHandler(QueryHandler(zone: zone, relay: relay)) } }
                .bind(host: host, port: port).get()
            relay.serverChannel = server
            return ClusterDNSServer(port: server.localAddress?.port ?? port, zone: zone, group: group, channels: [server, upstreamChannel])
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
    }

    /// The host's first `nameserver` in resolv.conf (glibc's default 127.0.0.1 if none).
    public static func hostNameserver(resolvConf: String = "/etc/resolv.conf") -> String {
        let text = (try? String(contentsOfFile: resolvConf, encoding: .utf8)) ?? ""
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.count >= 2, f[0] == "nameserver" { return String(f[1]) }
        }
        return "127.0.0.1"
    }

    /// Replaces the cluster records (called on every endpoint change).
    public func update(records: [String: [String]]) {
        zone.mutex.withLock { $0.records = records }
    }

    public func stop() async {
        for c in channels { try? await c.close() }
        try? await group.shutdownGracefully()
    }
}

/// The zone, shared between the updater and the event loop.
final class ZoneBox: Sendable {
    let mutex: Mutex<ClusterZone>
    init(_ zone: ClusterZone) { mutex = Mutex(zone) }
}

/// Forwarded queries in flight, keyed by the ID they were sent upstream with. Lives on the
/// server's one event loop; every access is on it.
final class Relay: @unchecked Sendable {
    let upstream: SocketAddress
    let loop: any EventLoop
    var upstreamChannel: (any Channel)?
    var serverChannel: (any Channel)?
    private var pending: [UInt16: (id: [UInt8], client: SocketAddress, sequence: UInt64)] = [:]
    private var sequence: UInt64 = 0

    init(upstream: SocketAddress, loop: any EventLoop) {
        self.upstream = upstream
        self.loop = loop
    }

    /// Sends `query` upstream under a fresh ID, remembering who asked.
    func forward(_ query: [UInt8], from client: SocketAddress) {
        loop.preconditionInEventLoop()
        guard let channel = upstreamChannel, pending.count < 4096 else { return }
        var id = UInt16.random(in: 0...UInt16.max)
        while pending[id] != nil { id = UInt16.random(in: 0...UInt16.max) }
        sequence += 1
        let sent = sequence
        pending[id] = (Array(query[0..<2]), client, sent)
        var bytes = query
        bytes[0] = UInt8(id >> 8)
        bytes[1] = UInt8(id & 0xff)
        let envelope = AddressedEnvelope(remoteAddress: upstream, data: channel.allocator.buffer(bytes: bytes))
        channel.writeAndFlush(envelope, promise: nil)
        // Forgotten after the timeout, unless answered (and the ID reused) meanwhile.
        let key = id
        loop.scheduleTask(in: ClusterDNSServer.forwardTimeout) {
            if self.pending[key]?.sequence == sent { self.pending[key] = nil }
        }
    }

    /// An upstream answer: back to the client that asked, with its own ID.
    func answer(_ reply: [UInt8]) {
        loop.preconditionInEventLoop()
        guard reply.count >= 12, let server = serverChannel else { return }
        let id = UInt16(reply[0]) << 8 | UInt16(reply[1])
        guard let (original, client, _) = pending.removeValue(forKey: id) else { return }
        var bytes = reply
        bytes[0] = original[0]
        bytes[1] = original[1]
        server.writeAndFlush(AddressedEnvelope(remoteAddress: client, data: server.allocator.buffer(bytes: bytes)), promise: nil)
    }
}

final class QueryHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private let zone: ZoneBox
    private let relay: Relay

    init(zone: ZoneBox, relay: Relay) {
        self.zone = zone
        self.relay = relay
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let query = Array(envelope.data.readableBytesView)
        guard let q = DNSMessage.question(query) else { return }
        let answer = zone.mutex.withLock { $0.answer(q.name) }
        if answer == .forward {
            relay.forward(query, from: envelope.remoteAddress)
            return
        }
        let reply = DNSMessage.response(to: query, q, answer, ttl: ClusterDNSServer.ttl)
        context.writeAndFlush(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: context.channel.allocator.buffer(bytes: reply))), promise: nil)
    }
}

final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let relay: Relay

    init(relay: Relay) { self.relay = relay }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == relay.upstream else { return }
        relay.answer(Array(envelope.data.readableBytesView))
    }
}
