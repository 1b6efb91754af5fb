import ContainerRuntime
import Foundation
import KubeAPI
import PodLifecycle

/// Runs the handlers that probes and lifecycle hooks share (exec, httpGet, tcpSocket, sleep), the
/// way `prober.go` and `lifecycle/handlers.go` do.
struct Handlers {
    let runtime: Runtime
    let podIP: String?

    /// One probe attempt. A timeout is a failure, as is any exit code but 0 or an HTTP status
    /// outside 200–399.
    func probe(_ probe: Probe, container: Container, process: ContainerProcess, env: [String]) async -> (ProbeResult, String) {
        let timeout = Duration.seconds(Int64(probe.timeoutSeconds ?? 1))
        if let exec = probe.exec {
            let r = await runtime.exec(in: process, argv: exec.command ?? [], env: env, workingDir: container.workingDir, timeout: timeout)
            if r.timedOut { return (.failure, "command \(String(reflecting: (exec.command ?? []).joined(separator: " "))) timed out") }
            return r.exitCode == 0 ? (.success, "") : (.failure, r.output)
        }
        if let http = probe.httpGet {
            let port = resolvePort(http.port, container: container)
            do {
                let code = try await NetworkChecks.httpGet(host: http.host ?? podIP ?? "127.0.0.1", port: port, path: http.path ?? "/",
                                                           headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) }, timeout: timeout)
                return (200..<400).contains(code) ? (.success, "") : (.failure, "HTTP probe failed with statuscode: \(code)")
            } catch {
                return (.failure, "Get \"http://\(http.host ?? podIP ?? "127.0.0.1"):\(port)\(http.path ?? "/")\": \(error)")
            }
        }
        if let tcp = probe.tcpSocket {
            let port = resolvePort(tcp.port, container: container)
            do {
                try await NetworkChecks.tcpConnect(host: tcp.host ?? podIP ?? "127.0.0.1", port: port, timeout: timeout)
                return (.success, "")
            } catch {
                return (.failure, String(describing: error))
            }
        }
        if let grpc = probe.grpc {
            do {
                let serving = try await GRPCHealthCheck.check(host: podIP ?? "127.0.0.1", port: Int(grpc.port), service: grpc.service ?? "", timeout: timeout)
                return serving ? (.success, "") : (.failure, "service unhealthy (responded with \"NOT_SERVING\")")
            } catch {
                return (.failure, "timeout: failed to connect service \"\(podIP ?? ""):\(grpc.port)\" within \(probe.timeoutSeconds ?? 1)s: \(error)")
            }
        }
        return (.unknown, "missing probe handler")
    }

    /// Runs a lifecycle hook (`HandlerRunner.Run`). Exec hooks have no timeout of their own (the
    /// caller bounds preStop by the grace period); an HTTP hook fails only on a transport error.
    func hook(_ handler: LifecycleHandler, container: Container, process: ContainerProcess, env: [String], timeout: Duration?) async throws {
        if let exec = handler.exec {
            let r = await runtime.exec(in: process, argv: exec.command ?? [], env: env, workingDir: container.workingDir, timeout: timeout ?? .seconds(86400 * 365))
            if r.exitCode != 0 {
                throw NetworkChecks.Failure(description: "command '\((exec.command ?? []).joined(separator: " "))' exited with \(r.exitCode ?? 126): \(r.output)")
            }
        } else if let http = handler.httpGet {
            let port = resolvePort(http.port, container: container)
            _ = try await NetworkChecks.httpGet(host: http.host ?? podIP ?? "127.0.0.1", port: port, path: http.path ?? "/",
                                                headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) }, timeout: min(timeout ?? .seconds(10), .seconds(10)))
        } else if let sleep = handler.sleep {
            try? await Task.sleep(for: min(.seconds(sleep.seconds), timeout ?? .seconds(sleep.seconds)))
        } else if handler.tcpSocket != nil {
            throw NetworkChecks.Failure(description: "invalid handler: tcpSocket is not supported for lifecycle hooks")
        }
    }

    /// A named port (`http`) resolves through the container's `ports`.
    func resolvePort(_ port: IntOrString, container: Container) -> Int {
        switch port {
        case .int(let p): return p
        case .string(let name):
            if let p = container.ports?.first(where: { $0.name == name }) { return Int(p.containerPort) }
            return Int(name) ?? 0
        }
    }
}
