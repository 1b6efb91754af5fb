import ArgumentParser
import ConfigSidecar
import Foundation
import OneShotHTTP
import Logging

/// `tandem sidecar config`: the MinIO operator's sidecar (image `minio/operator-sidecar`), which
/// renders the `config.env` MinIO starts with from the Tenant and its configuration Secret.
/// `validate` is the init container; `watch` (MinIO's `sidecar`) keeps the file in step.
struct SidecarConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "MinIO's config sidecar: render config.env from a Tenant and its Secret, and keep it in step.",
        discussion: """
            Drop-in for minio/operator-sidecar: `validate --tenant NAME` and `sidecar --tenant NAME --config-name SECRET` \
            take MinIO's own arguments. With no API server the sources are files: the Tenant's YAML (--tenant-file, \
            $TANDEM_TENANT_FILE, default \(SourceOptions.defaultTenantFile)) and the mounted configuration Secret \
            (--secret-dir, $TANDEM_SECRET_DIR, default \(SourceOptions.defaultSecretDir), where the operator mounts it).
            """,
        subcommands: [Validate.self, Watch.self]
    )

    /// Where the Tenant and Secret are read from and the file is written to.
    struct SourceOptions: ParsableArguments {
        static let defaultTenantFile = "/tmp/minio-tenant/tenant.yaml"
        static let defaultSecretDir = "/tmp/minio-config"
        static let defaultOutput = "/tmp/minio/config.env"
        static let serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

        @Option(help: "The Tenant's name (MinIO's flag); picks it among the documents of the Tenant file.")
        var tenant: String?

        @Option(name: .customLong("tenant-file"), help: ArgumentHelp("The Tenant's YAML (minio.min.io/v2), e.g. a ConfigMap volume's file. Default: $TANDEM_TENANT_FILE, else \(defaultTenantFile).", valueName: "path"))
        var tenantFile: String?

        @Option(name: .customLong("secret-dir"), help: ArgumentHelp("The mounted configuration Secret; its config.env key is read. Default: $TANDEM_SECRET_DIR, else \(defaultSecretDir).", valueName: "dir"))
        var secretDir: String?

        @Option(help: ArgumentHelp("The file MinIO reads (MINIO_CONFIG_ENV_FILE).", valueName: "path"))
        var output: String = defaultOutput

        @Option(help: "Namespace for a Tenant whose metadata has none, and of the API objects. Default: the kubeconfig context's (api), else the service account's, else minio-operator (as MinIO).")
        var namespace: String?

        @Option(help: ArgumentHelp("Where the Tenant and Secret come from: files, or api (list+watch through the Kubernetes API, https with the kubeconfig's CA and credentials, or http such as kubectl proxy).", valueName: "files|api"))
        var source: String = "files"

        @Option(help: ArgumentHelp("For --source api: the kubeconfig (its current context). Default: $KUBECONFIG, else the in-cluster service account.", valueName: "path"))
        var kubeconfig: String?

        /// The source the flags name; `secretName` is `--config-name` where the command has it.
        func configSource(secretName: String?) throws -> any ConfigSource {
            switch source {
            case "files": return fileSource()
            case "api":
                guard let tenant, !tenant.isEmpty else { throw SidecarConfig.usage("--source api needs --tenant") }
                let env = ProcessInfo.processInfo.environment
                do throws(SourceError) {
                    let config = if let path = kubeconfig ?? env["KUBECONFIG"] {
                        try KubeClientConfig.kubeconfig(path)
                    } else {
                        try KubeClientConfig.inCluster(environment: env)
                    }
                    return try KubeSource(config: config, namespace: namespace ?? config.namespace ?? Self.defaultNamespace(), tenantName: tenant,
                                          secretName: secretName, clusterDomain: env["CLUSTER_DOMAIN"] ?? "cluster.local", log: SidecarConfig.log)
                } catch {
                    SidecarConfig.log(error.message)
                    throw ExitCode(2)
                }
            default:
                throw SidecarConfig.usage("--source must be files or api, not \"\(source)\"")
            }
        }

        /// MinIO's `GetNSFromFile`: the service account's namespace, else `minio-operator`.
        static func defaultNamespace() -> String {
            (try? String(contentsOfFile: serviceAccountNamespace, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                ?? "minio-operator"
        }

        func fileSource() -> FileSource {
            let env = ProcessInfo.processInfo.environment
            let ns = namespace ?? Self.defaultNamespace()
            return FileSource(tenantFile: tenantFile ?? env["TANDEM_TENANT_FILE"] ?? Self.defaultTenantFile,
                              secretDir: secretDir ?? env["TANDEM_SECRET_DIR"] ?? Self.defaultSecretDir,
                              tenantName: tenant, defaultNamespace: ns,
                              clusterDomain: env["CLUSTER_DOMAIN"] ?? "cluster.local")
        }
    }

    /// Go's `log` format (`2006/01/02 15:04:05 message`) on standard error.
    static func log(_ message: String) {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.dateFormat = "yyyy/MM/dd HH:mm:ss"
        FileHandle.standardError.write(Data("\(f.string(from: Date())) \(message)\n".utf8))
    }

    static func fail(_ failure: ConfigWriter.Failure) -> ExitCode {
        log(failure.description)
        if case .missingCredentials = failure { log("MinIO won't start") }
        return ExitCode(failure.exitCode)
    }

    static func usage(_ message: String) -> ExitCode {
        log("error: \(message)")
        return ExitCode(2)
    }

    /// MinIO's messages for its required flags; it exits 1.
    static func require(_ value: String?, _ flag: String) throws {
        if (value ?? "").isEmpty {
            log("Must pass --\(flag) flag")
            throw ExitCode(1)
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The init container: write config.env once; exit 1 without root credentials.",
            discussion: "Exit status: 0 written; 1 missing root credentials or the file cannot be written; 2 a source cannot be read or parsed.",
            aliases: ["v"]
        )

        @OptionGroup var sources: SourceOptions

        func run() async throws {
            let writer = ConfigWriter(source: try sources.configSource(secretName: nil), output: sources.output, log: SidecarConfig.log)
            do {
                try await writer.source.prepare()
            } catch {
                throw SidecarConfig.fail(.source(error))
            }
            do {
                _ = try writer.update(previous: nil)
            } catch {
                throw SidecarConfig.fail(error)
            }
            SidecarConfig.log("wrote \(sources.output)")
        }
    }

    struct Watch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The sidecar: keep config.env in step with its sources, serve GET /ready; exit 1 if the credentials disappear.",
            discussion: """
                Watches the Secret directory and the Tenant file's directory with inotify (the kubelet's `..data` swap, or a \
                file replaced or rewritten) and rewrites the file atomically when the rendered content changes. A source that \
                cannot be read mid-update is logged and the previous file kept. Exit status: 0 on SIGTERM/SIGINT; 1 missing \
                credentials or unwritable output; 2 an unreadable source at start.
                """,
            aliases: ["sidecar", "s"]
        )

        @OptionGroup var sources: SourceOptions

        @Option(name: .customLong("config-name"), help: "The configuration Secret's name (MinIO's flag).")
        var configName: String?

        @Option(name: .customLong("ready-address"), help: ArgumentHelp("Where GET /ready is served.", valueName: "host:port"))
        var readyAddress: String = "0.0.0.0:4444"

        @Option(name: .customLong("probe-url"), help: "What /ready sends HEAD to (500 ms timeout; ready on any HTTP response).")
        var probeURL: String = ReadinessServer.defaultProbeURL

        @Option(name: .customLong("on-change-signal"), help: ArgumentHelp("After a change, send this signal (HUP, USR1, …) to the processes named by --on-change-process (needs shareProcessNamespace on a cluster).", valueName: "signal"))
        var onChangeSignal: String?

        @Option(name: .customLong("on-change-process"), help: ArgumentHelp("The process name (comm or argv[0]'s base name) --on-change-signal goes to.", valueName: "name"))
        var onChangeProcess: String?

        @Option(name: .customLong("on-change-url"), help: ArgumentHelp("After a change, POST here and expect 200, as configmap-reload's --webhook-url.", valueName: "url"))
        var onChangeURL: String?

        @Option(name: .customLong("on-change-retries"), help: "Retries of a failed --on-change-url POST (back-off from 200 ms).")
        var onChangeRetries: Int = 3

        /// Usage errors of the flags this command adds: a message and exit 2.
        func usageError() -> String? {
            if onChangeSignal != nil && onChangeProcess == nil { return "--on-change-signal needs --on-change-process" }
            if onChangeProcess != nil && onChangeSignal == nil { return "--on-change-process needs --on-change-signal" }
            if let s = onChangeSignal, ChangeNotifier.parseSignal(s) == nil { return "--on-change-signal: unknown signal \"\(s)\"" }
            if onChangeRetries < 0 { return "--on-change-retries must not be negative" }
            if ReadinessServer.parseAddress(readyAddress) == nil { return "--ready-address: expected host:port, got \"\(readyAddress)\"" }
            return nil
        }

        func run() async throws {
            try SidecarConfig.require(sources.tenant, "tenant")
            try SidecarConfig.require(configName, "config-name")
            if let message = usageError() { throw SidecarConfig.usage(message) }
            let probe: OneShotRequest
            var webhook: OneShotRequest?
            do {
                probe = try OneShotRequest(method: .HEAD, url: probeURL)
                if let onChangeURL { webhook = try OneShotRequest(method: .POST, url: onChangeURL) }
            } catch {
                throw SidecarConfig.usage(error.description)
            }
            let (host, port) = ReadinessServer.parseAddress(readyAddress)!
            // A parent may have left these blocked (the mask is inherited across exec); the
            // graceful stop on SIGTERM/SIGINT needs them delivered.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            for s in [SIGTERM, SIGINT] { sigaddset(&unblock, s) }
            sigprocmask(SIG_UNBLOCK, &unblock, nil)
            var logger = Logger(label: "tandem-sidecar-config") { StreamLogHandler.standardError(label: $0) }
            logger.logLevel = .warning
            let source = try sources.configSource(secretName: configName)
            if let files = source as? FileSource {
                SidecarConfig.log("Starting Sidecar: tenant \(sources.tenant!), config \(configName!) from \(files.tenantFile) and \(files.secretDir)")
            } else if let api = source as? KubeSource {
                SidecarConfig.log("Starting Sidecar: tenant \(sources.tenant!), config \(configName!) through the API in namespace \(api.namespace)")
            }
            let watch = ConfigWatch(
                writer: ConfigWriter(source: source, output: sources.output, log: SidecarConfig.log),
                readiness: ReadinessServer(host: host, port: port, probe: probe),
                notifier: ChangeNotifier(signal: onChangeSignal.flatMap(ChangeNotifier.parseSignal), processName: onChangeProcess,
                                         webhook: webhook, webhookRetries: onChangeRetries),
                logger: logger,
                onListening: { port in SidecarConfig.log("serving GET /ready on \(host):\(port), probing \(probe.url)") })
            do {
                try await watch.run()
            } catch {
                throw SidecarConfig.fail(error)
            }
        }
    }
}
