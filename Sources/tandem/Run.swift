import ArgumentParser
import ClusterDNS
import ContainerRuntime
import Dispatch
import Foundation
import KubeAPI
import Node
import ServiceProxy
import Yams

/// `tandem run`: runs the objects of one or more manifests until they finish, the timeout passes,
/// or SIGINT/SIGTERM arrives, showing a `kubectl get pods -w` timeline and every container's logs.
struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the Pods, Jobs and Deployments of Kubernetes manifests on this machine.",
        discussion: "Exit status: 0 when every pod ended well, 1 when a pod or Job failed, 2 on invalid input."
    )

    @Option(help: "Stop every pod gracefully after this long (e.g. 30s, 5m, 1h30m).")
    var timeout: String?

    @Option(name: .shortAndLong, help: "At exit, print the final objects as a v1 List: json or yaml.")
    var output: String?

    @Option(help: "State directory: container logs, volumes, network leases.")
    var root: String = "/var/lib/tandem"

    @Option(help: "A YAML file mapping images to host commands (image: {command, args, env, workingDir}).")
    var images: String?

    @Option(name: .customLong("trigger"), help: "Start one Job from a CronJob at once, as `kubectl create job --from=cronjob/NAME` (repeatable). The schedules are then not run, and tandem returns when the Jobs have ended.")
    var triggers: [String] = []

    @Flag(help: "Re-read the manifest files when they change and apply what a Pod may change (container images), as `kubectl apply` would.")
    var watch = false

    @Argument(help: "Manifest files, or - for standard input.")
    var files: [String] = []

    func run() async throws {
        let exitCode = await execute()
        throw ExitCode(exitCode)
    }

    private func fail(_ message: String) -> Int32 {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        return 2
    }

    func execute() async -> Int32 {
        if files.isEmpty { return fail("error: must specify one or more manifest files (or - for standard input)") }
        if let output, output != "json" && output != "yaml" {
            return fail("error: unable to match a printer suitable for the output format \"\(output)\", allowed formats are: json,yaml")
        }
        var timeoutDuration: Duration?
        if let timeout {
            switch GoDuration.parse(timeout) {
            case .success(let d): timeoutDuration = d
            case .failure(let e): return fail("error: invalid argument \"\(timeout)\" for \"--timeout\" flag: \(e.message)")
            }
        }

        // Decode and validate everything before anything starts.
        var objects: [(KubeObject, String)] = []
        var errors: [String] = []
        for file in files {
            let text: String
            if file == "-" {
                text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            } else {
                guard let data = FileManager.default.contents(atPath: file) else {
                    errors.append("error: the path \"\(file)\" does not exist")
                    continue
                }
                text = String(decoding: data, as: UTF8.self)
            }
            do {
                objects += try Manifest.decode(text, source: file == "-" ? "STDIN" : file).map { ($0, file) }
            } catch {
                errors.append(error.description)
            }
        }
        let catalog: ImageCatalog
        do {
            catalog = try ImageCatalog(userFile: images, stateDir: root + "/images")
        } catch {
            return fail("error: --images \(images ?? ""): \(error)")
        }
        if errors.isEmpty { errors += Admission.check(objects, images: catalog) }
        if !errors.isEmpty { return fail(errors.joined(separator: "\n")) }
        if objects.isEmpty { return fail("error: no objects passed to run") }
        var cronJobNames: [String] = []
        for trigger in triggers {
            let parts = trigger.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["cronjob", "cronjobs", "cj", "cronjob.batch", "cronjobs.batch"].contains(parts[0].lowercased()) else {
                return fail("error: --trigger \(trigger): from must be of the form cronjob/NAME")
            }
            guard objects.contains(where: { if case .cronJob(let c) = $0.0 { c.metadata.name == parts[1] } else { false } }) else {
                return fail("error: cronjobs.batch \"\(parts[1])\" not found")
            }
            cronJobNames.append(parts[1])
        }
        // The API server's Service IP and node port allocation, before anything starts.
        var proxyConfig = ProxyConfig()
        proxyConfig.nodeName = ProcessInfo.processInfo.hostName
        await Proxier.cleanupStale(config: proxyConfig)
        let proxier = Proxier(config: proxyConfig)
        let services = objects.compactMap { o, _ -> Service? in
            guard case .service(var s) = o else { return nil }
            s.metadata.namespace = s.metadata.namespace ?? "default"
            return s
        }
        let allocationErrors = await proxier.admit(services)
        if !allocationErrors.isEmpty { return fail(allocationErrors.joined(separator: "\n")) }

        let timeline = Timeline(fd: output == nil ? 1 : 2)
        var context: NodeContext
        var startedDNS: ClusterDNSServer?
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            catalog.prepare()
            let dns = try await ClusterDNSServer.start(upstream: ClusterDNSServer.hostNameserver(), domain: proxyConfig.clusterDomain)
            startedDNS = dns
            var served = true
            do {
                try await proxier.start(dnsPort: dns.port) { dns.update(records: $0) }
            } catch {
                await dns.stop()
                startedDNS = nil
                await proxier.stop()
                // Without nftables, manifests with no Service still run (pods keep the host's resolver).
                guard services.isEmpty else { throw error }
                FileHandle.standardError.write(Data("warning: cluster DNS not served: \(error)\n".utf8))
                served = false
            }
            let runtime = try Runtime(logEcho: { id, _, line in timeline.log(containerID: id, line: line) })
            var netConfig = PodNetworkConfig(stateDir: root + "/net")
            netConfig.poolSize = 1
            netConfig.serviceCIDR = proxyConfig.serviceCIDR.description
            let network = PodNetwork(config: netConfig)
            await network.cleanupStale()
            context = NodeContext(root: root, runtime: runtime, network: network, images: catalog, timeline: timeline,
                                  hostIP: "127.0.0.1", nodeName: proxyConfig.nodeName, cgroups: Self.nodeCgroups())
            // Pods in cgroups take no pooled sandbox (`Runtime.startSandbox`).
            if context.cgroups == nil { runtime.enableSandboxPool(containersDir: context.containersDirectory) }
            context.podDirectories = PodDirectoryPool(root: root)
            context.clusterDNS = served ? await proxier.dnsIP : nil
            context.clusterDomain = proxyConfig.clusterDomain
            let admitted = await proxier.admittedServices()
            context.serviceLister = { admitted }
        } catch {
            await startedDNS?.stop()
            await proxier.stop()
            return fail("error: cannot start the node: \(error)")
        }

        // What `kubectl get services` would show, so that the addresses are known while it runs.
        for s in await proxier.admittedServices() {
            let r = ServicePrinter.row(s)
            timeline.note("service/\(r[0]): type \(r[1]), cluster IP \(r[2]), external IP \(r[3]), ports \(r[4])")
        }
        if !services.isEmpty, let ip = context.clusterDNS { timeline.note("cluster DNS: \(ip) (\(proxyConfig.clusterDomain))") }

        // Pod changes reach the proxy in order, the newest snapshot winning when it falls behind.
        let (podUpdates, podFeed) = AsyncStream.makeStream(of: ([Pod], Set<String>).self, bufferingPolicy: .bufferingNewest(1))
        let feeder = Task {
            for await (pods, terminating) in podUpdates { await proxier.update(pods: pods, terminating: terminating) }
        }
        let cluster = LocalCluster(context: context, objects: objects.map(\.0).filter { if case .service = $0 { false } else { true } },
                                   trigger: cronJobNames) { pods, terminating in podFeed.yield((pods, terminating)) }
        let stop = SignalWatcher.install { Task { await cluster.shutdown() } }
        let timer = timeoutDuration.map { d in
            Task {
                try? await Task.sleep(for: d)
                if !Task.isCancelled { await cluster.shutdown() }
            }
        }
        let watcher = watch ? ManifestWatcher.watch(files: files.filter { $0 != "-" }) {
            Task { await Self.reapply(files: files.filter { $0 != "-" }, to: cluster) }
        } : nil
        // `tandem delete pod NAME --root ROOT`.
        let requests = RequestServer(root: root) { request in
            guard request.verb == "delete", request.kind == "Pod" else { return RunRequests.Reply(result: "BadRequest") }
            let found = await cluster.deletePod(namespace: request.namespace, name: request.name, gracePeriod: request.gracePeriod)
            return RunRequests.Reply(result: found ? "deleted" : "NotFound")
        }
        await cluster.run()
        podFeed.finish()
        await feeder.value
        await proxier.stop()
        await startedDNS?.stop()
        await requests?.finish()
        await context.network.shutdown()
        await context.runtime.drainSandboxPool()
        await context.podDirectories?.drain()
        watcher?.cancel()
        timer?.cancel()
        stop.cancel()

        if let output {
            let list = JSONValue.object([
                "apiVersion": .string("v1"), "kind": .string("List"),
                "metadata": .object(["resourceVersion": .string("")]),
                "items": .array(await cluster.finalObjects().compactMap { try? $0.jsonValue() }
                    + (await proxier.admittedServices()).compactMap { try? KubeObject.service($0).jsonValue() }
                    + (await proxier.endpointSlices())),
            ])
            if output == "json" {
                print(list.jsonText())
            } else {
                print((try? Yams.dump(object: list.anyValue, sortKeys: true)) ?? "", terminator: "")
            }
        }
        return await cluster.exitCode()
    }
}

extension Run {
    /// Re-decodes edited manifests and applies them; errors are printed, never fatal.
    static func reapply(files: [String], to cluster: LocalCluster) async {
        var objects: [KubeObject] = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            do {
                objects += try Manifest.decode(String(decoding: data, as: UTF8.self), source: file)
            } catch {
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
                return
            }
        }
        for message in await cluster.update(objects) {
            FileHandle.standardError.write(Data(("error: " + message + "\n").utf8))
        }
    }
}

/// SIGINT and SIGTERM, delivered as events (dispatch signal sources), not by polling.
struct SignalWatcher {
    private let sources: [any DispatchSourceSignal]

    static func install(_ handler: @escaping @Sendable () -> Void) -> SignalWatcher {
        let sources = [SIGINT, SIGTERM].map { signo in
            signal(signo, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            return source
        }
        return SignalWatcher(sources: sources)
    }

    func cancel() { sources.forEach { $0.cancel() } }
}
