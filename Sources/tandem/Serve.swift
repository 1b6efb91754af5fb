import APIServer
import APIStore
import ArgumentParser
import ContainerRuntime
import ControllerManager
import Foundation
import KubeAPI
import Logging
import Node
import NodeAgent
import ServiceLifecycle
import ServiceProxy

/// `tandem serve`: a one-node Kubernetes that kubectl drives — the store, the API server, the
/// controllers and the node, as services of one group that stops in reverse order on SIGINT or
/// SIGTERM (the node stops its pods first, while the API still answers).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a Kubernetes API on this machine and run the Pods created through it.",
        discussion: "Writes ROOT/kubeconfig (CA, token, server URL) for kubectl: export KUBECONFIG=ROOT/kubeconfig."
    )

    @Option(help: "State directory: the object store, credentials, kubeconfig, container logs.")
    var root: String = "/var/lib/tandem"

    @Option(help: "Port of the HTTPS API on 127.0.0.1 (0 picks a free one).")
    var port: Int = 6443

    @Option(help: "Address to bind. Anything but loopback exposes the API (token-protected) to the network.")
    var address: String = "127.0.0.1"

    @Option(help: "A YAML file mapping images to host commands (image: {command, args, env, workingDir}).")
    var images: String?

    @Option(name: .customLong("event-ttl"), help: "How long an Event is kept after its last write (kube-apiserver's --event-ttl).")
    var eventTTL: String = "1h0m0s"

    func run() async throws {
        guard (0...65535).contains(port) else {
            FileHandle.standardError.write(Data("error: invalid argument \"\(port)\" for \"--port\" flag: must be between 0 and 65535\n".utf8))
            throw ExitCode(2)
        }
        let ttl: Duration
        switch GoDuration.parse(eventTTL) {
        case .success(let d) where d > .zero: ttl = d
        case .success:
            FileHandle.standardError.write(Data("error: invalid argument \"\(eventTTL)\" for \"--event-ttl\" flag: must be positive\n".utf8))
            throw ExitCode(2)
        case .failure(let e):
            FileHandle.standardError.write(Data("error: invalid argument \"\(eventTTL)\" for \"--event-ttl\" flag: \(e.message)\n".utf8))
            throw ExitCode(2)
        }
        var logger = Logger(label: "tandem.serve")
        logger.logLevel = .warning
        let stack: ServeStack
        let proxyConfig = ProxyConfig()
        let masterRules: MasterServiceRules
        let gateway: String
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            var netConfig = PodNetworkConfig(stateDir: root + "/net")
            netConfig.poolSize = 1
            netConfig.serviceCIDR = proxyConfig.serviceCIDR.description
            netConfig.persistentRoot = URL(fileURLWithPath: root).standardizedFileURL.path
            let network = PodNetwork(config: netConfig)
            // The pods a killed serve left running on this root, which this one adopts.
            let adoptable = Set(PodWorker.checkpointedPods(root: root).keys)
            await network.cleanupStale(keeping: adoptable)
            await Proxier.cleanupStale(config: proxyConfig)
            // The first pod network makes the bridge, whose address pods reach the API on.
            await network.prewarm()
            gateway = IPv4CIDR.format(IPv4CIDR(netConfig.subnet)!.usable.lowerBound)
            masterRules = MasterServiceRules(config: proxyConfig)
            stack = try ServeStack(root: root, address: address, port: port, images: images, network: network, adoptable: adoptable,
                                   master: (masterRules.clusterIP, gateway))
        } catch {
            FileHandle.standardError.write(Data("error: cannot start: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if masterRules.clusterIP == nil {
            FileHandle.standardError.write(Data("warning: no address of \(MasterServiceRules.candidates(proxyConfig.serviceCIDR).joined(separator: ", ")) is free for the kubernetes Service: pods get no KUBERNETES_SERVICE_HOST\n".utf8))
        }
        let root = self.root
        let (api, node, controllers, pki, context, registry) = (stack.api, stack.node, stack.controllers, stack.pki, stack.context, stack.registry)
        // The API's port once it listens; the node starts its pods only after the kubernetes
        // Service is in the store, as the kubelet waits for its service informer's first sync.
        let (listening, listeningFeed) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let (servicesSynced, servicesSyncedFeed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let group = ServiceGroup(configuration: .init(
            services: [
                .init(service: APIService(server: api, logger: logger) { port in
                    // In the store before kubectl is told where the API is.
                    if let clusterIP = masterRules.clusterIP {
                        registry.reconcileMasterService(MasterService(clusterIP: clusterIP, endpointIP: gateway, apiPort: port))
                    }
                    Self.announce(pki: pki, root: root, host: api.host, port: port)
                    listeningFeed.yield(port)
                }),
                .init(service: LoopService { await controllers.run() } stop: {}),
                .init(service: LoopService { await registry.expireEvents(ttl: ttl) } stop: {}),
                .init(service: LoopService {
                    for await port in listening {
                        await Self.keepMasterService(registry: registry, rules: masterRules, gateway: gateway, port: port) {
                            servicesSyncedFeed.yield()
                        }
                    }
                } stop: {}),
                .init(service: LoopService {
                    for await _ in servicesSynced { break }
                    await node.run()
                } stop: { await node.shutdown() }),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        do {
            try await group.run()
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            await context.network.shutdown()
            await context.podDirectories?.drain()
            await masterRules.stop()
            throw ExitCode(1)
        }
        await context.network.shutdown()
        await context.podDirectories?.drain()
        await masterRules.stop()
    }

    /// The API server's `kubernetes` Service controller with kube-proxy's rule for it: the
    /// Service, Endpoints and EndpointSlice point at `gateway:port` and `clusterIP:443` is
    /// DNATed there; `synced` once that is done, then the objects are put back whenever a
    /// client deletes or edits them, until cancelled.
    static func keepMasterService(registry: Registry, rules: MasterServiceRules, gateway: String, port: Int,
                                  synced: @escaping @Sendable () -> Void) async {
        guard let clusterIP = rules.clusterIP else {
            synced()
            return
        }
        let master = MasterService(clusterIP: clusterIP, endpointIP: gateway, apiPort: port)
        registry.reconcileMasterService(master)
        do {
            try await rules.apply(port: Int32(MasterService.port), endpoint: gateway, targetPort: Int32(port))
        } catch {
            FileHandle.standardError.write(Data("warning: pods cannot reach the kubernetes Service \(clusterIP): \(error)\n".utf8))
        }
        synced()
        await ReconcileLoop(registry: registry, watched: [.services, .endpoints, .endpointSlices]).run {
            registry.reconcileMasterService(master)
            return nil
        }
    }

    /// Writes the kubeconfig once the port is known, and tells the user how to use it.
    static func announce(pki: PKI, root: String, host: String, port: Int) {
        let server = "https://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)"
        let path = (root as NSString).standardizingPath + "/kubeconfig"
        do {
            try PKI.write(path, pki.kubeconfig(server: server))
        } catch {
            FileHandle.standardError.write(Data("error: cannot write \(path): \(error)\n".utf8))
        }
        FileHandle.standardOutput.write(Data("tandem serve: Kubernetes API on \(server)\n  export KUBECONFIG=\(path)\n  kubectl get pods\n".utf8))
    }
}

/// Everything `tandem serve` runs on one root, built but not started: the store (with the
/// default namespaces), the credentials, the node's context, the API server, the node agent and
/// the controllers. `tandem bench serve` starts the same stack.
struct ServeStack {
    let registry: Registry
    let pki: PKI
    let context: NodeContext
    let api: APIServer
    let node: NodeAgent
    let controllers: ControllerManager

    /// - Parameter timelineFD: where the node's pod rows and warnings go (the bench discards them).
    /// - Parameter adoptable: UIDs of the pods whose containers a killed serve left running
    ///   (their cgroups are kept; their workers adopt them).
    /// - Parameter master: the `kubernetes` Service's ClusterIP and the pod bridge's address,
    ///   which the serving certificate names and the API also listens on (nil: loopback only).
    init(root: String, address: String, port: Int, images: String?, network: PodNetwork, nodeName: String = ProcessInfo.processInfo.hostName,
         timelineFD: Int32 = 1, adoptable: Set<String> = [], master: (clusterIP: String?, gateway: String)? = nil) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        pki = try PKI.load(dir: root + "/pki", ipAddresses: [master?.clusterIP, master?.gateway].compactMap { $0 })
        registry = Registry(store: try ObjectStore(path: root + "/apiserver.db"), nodeName: nodeName,
                            tokens: try ServiceAccountTokens.load(dir: root + "/pki", rootCA: pki.caPEM))
        try registry.bootstrap()
        let catalog = try ImageCatalog(userFile: images, stateDir: root + "/images")
        catalog.prepare()
        let (podEvents, podEventFeed) = AsyncStream.makeStream(of: PodEvent.self)
        let timeline = Timeline(fd: timelineFD, showLogs: false) { podEventFeed.yield($0) }
        // Containers outlive this process (kill -9 included) and the next serve adopts them.
        var context = NodeContext(root: root, runtime: try Runtime(logEcho: nil, persistent: true), network: network, images: catalog,
                                  timeline: timeline, hostIP: "127.0.0.1", nodeName: registry.nodeName,
                                  cgroups: Run.nodeCgroups(keeping: adoptable))
        context.podDirectories = PodDirectoryPool(root: root)
        context.serviceLister = { [registry] in
            ((try? registry.list(.services, namespace: nil).items) ?? []).compactMap { try? $0.decode(Service.self) }
        }
        self.context = context
        node = NodeAgent(registry: registry, context: context, events: podEvents)
        // Bound to every address already, the API answers on the bridge's too.
        let podHost = master.flatMap { ["0.0.0.0", $0.gateway].contains(address) ? nil : $0.gateway }
        api = APIServer(registry: registry, pki: pki, host: address, port: port, root: root, streaming: node, podHost: podHost)
        controllers = ControllerManager(registry: registry)
    }
}

/// The API server as a service: on graceful shutdown its open watches end first, so the
/// listener's own shutdown does not wait for them.
struct APIService: ServiceLifecycle.Service {
    let server: APIServer
    let logger: Logger
    let onListening: @Sendable (Int) -> Void

    func run() async throws {
        let store = server.registry.store
        try await withGracefulShutdownHandler {
            try await server.run(logger: logger) { port in onListening(port) }
        } onGracefulShutdown: {
            store.closeWatches()
        }
    }
}

/// A loop (the controllers, the node) that runs until the group shuts down gracefully, then
/// `stop` (the node stops its pods) before the loop is cancelled.
struct LoopService: ServiceLifecycle.Service {
    let loop: @Sendable () async -> Void
    let stop: @Sendable () async -> Void

    init(_ loop: @escaping @Sendable () async -> Void, stop: @escaping @Sendable () async -> Void) {
        self.loop = loop
        self.stop = stop
    }

    func run() async throws {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await loop() }
            try? await gracefulShutdown()
            await stop()
            group.cancelAll()
        }
    }
}
