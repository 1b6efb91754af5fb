// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "tandem",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "tandem", targets: ["tandem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // Traits off: no swift-configuration, no FullFoundation extras; the server core is all we use.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // Kubernetes objects, decoding, defaulting and validation (the API server's job).
        .target(name: "KubeAPI", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The kubelet's decisions as pure functions: no processes, no clock of its own.
        .target(name: "PodLifecycle", dependencies: ["KubeAPI"]),
        // The C half of the container runtime: runs in a fresh process before Swift starts.
        .target(name: "CTandemInit"),
        // How one container runs: namespaces, mounts, CRI logs, image catalog, pod network.
        .target(name: "ContainerRuntime", dependencies: [
            "KubeAPI", "CTandemInit",
            .product(name: "SystemPackage", package: "swift-system"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        // The node's cgroups: the kubelet's cgroupfs layout, its resource conversions, the kernel files.
        .target(name: "Cgroups", dependencies: ["KubeAPI"]),
        // The kubelet: pod workers, prober, volumes, status.
        .target(name: "Node", dependencies: [
            "KubeAPI", "PodLifecycle", "ContainerRuntime", "Cgroups",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // kube-controller-manager's Job and Deployment controllers.
        .target(name: "Controllers", dependencies: ["KubeAPI"]),
        // `tandem sidecar config`: the MinIO operator sidecar's config render, file watch and /ready.
        .target(name: "ConfigSidecar", dependencies: [
            "Inotify", "OneShotHTTP",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // One HTTP/1.1 request with a deadline: the sidecars' hooks and readiness probe.
        .target(name: "OneShotHTTP", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        // inotify(7) on one thread, for every watcher in Tandem.
        .target(name: "Inotify"),
        // `tandem sidecar logs`: follows log files through rotation and forwards every line once.
        .target(name: "LogTailer", dependencies: ["Inotify"]),
        // `tandem sidecar git-sync`: kubernetes/git-sync v4 (and v3's env) on the host's git.
        .target(name: "GitSync", dependencies: [
            "KubeAPI", "Inotify", "OneShotHTTP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        // kube-proxy (nftables mode) and the API server's Service IP / node port allocation.
        .target(name: "ServiceProxy", dependencies: ["KubeAPI", "ContainerRuntime"]),
        // The pods' DNS server: the cluster domain's Service names, the rest forwarded.
        .target(name: "ClusterDNS", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // zlib from the system (Debian's zlib1g-dev): SPDY/3 header blocks are zlib streams with a preset dictionary.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // SPDY/3.1 framing, which `kubectl port-forward` speaks (tunnelled in WebSocket or after an HTTP upgrade).
        .target(name: "SPDY", dependencies: ["CZlib", .product(name: "NIOCore", package: "swift-nio")]),
        // The API server's storage: Kubernetes objects as JSON in SQLite, one global revision, a watch log.
        .target(name: "APIStore", dependencies: ["KubeAPI", .product(name: "GRDB", package: "GRDB.swift")]),
        // The Kubernetes API that kubectl drives: HTTPS, discovery, CRUD, watch, tables, logs.
        .target(name: "APIServer", dependencies: [
            "APIStore", "KubeAPI", "PodLifecycle", "Controllers", "LogTailer", "SPDY",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The kubelet of `tandem serve`: pods from the store run by Node's pod workers, status written back.
        .target(name: "NodeAgent", dependencies: ["APIServer", "APIStore", "KubeAPI", "Node"]),
        // kube-controller-manager of `tandem serve`: the Controllers' reconcile functions driven by the store.
        .target(name: "ControllerManager", dependencies: ["APIServer", "APIStore", "KubeAPI", "Controllers"]),
        .executableTarget(name: "tandem", dependencies: [
            "KubeAPI", "PodLifecycle", "ContainerRuntime", "Node", "Controllers", "CTandemInit", "Cgroups", "ConfigSidecar", "LogTailer", "GitSync",
            "Inotify", "OneShotHTTP", "ServiceProxy", "ClusterDNS", "APIStore", "APIServer", "NodeAgent", "ControllerManager",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "KubeAPITests", dependencies: ["KubeAPI"]),
        .testTarget(name: "PodLifecycleTests", dependencies: ["PodLifecycle", "KubeAPI"]),
        .testTarget(name: "ControllersTests", dependencies: ["Controllers", "KubeAPI"]),
        .testTarget(name: "ContainerRuntimeTests", dependencies: ["ContainerRuntime", "KubeAPI"]),
        .testTarget(name: "NodeTests", dependencies: ["Node", "KubeAPI", "ContainerRuntime"]),
        .testTarget(name: "ConfigSidecarTests", dependencies: ["ConfigSidecar"]),
        .testTarget(name: "EndToEndTests", dependencies: ["KubeAPI", "Node"]),
        .testTarget(name: "LogTailerTests", dependencies: ["LogTailer"]),
        .testTarget(name: "GitSyncTests", dependencies: ["GitSync", "OneShotHTTP"]),
        .testTarget(name: "ServiceProxyTests", dependencies: ["ServiceProxy", "ClusterDNS", "KubeAPI", "Node"]),
        .testTarget(name: "CgroupsTests", dependencies: ["Cgroups", "KubeAPI"]),
        .testTarget(name: "APIStoreTests", dependencies: ["APIStore", "KubeAPI"]),
        .testTarget(name: "APIServerTests", dependencies: ["APIServer", "KubeAPI"]),
        .testTarget(name: "SPDYTests", dependencies: ["SPDY", .product(name: "NIOCore", package: "swift-nio")]),
    ],
    swiftLanguageModes: [.v6]
)
