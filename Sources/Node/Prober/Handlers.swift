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
            let port: Int
            do { port = try resolveContainerPort(http.port, container: container) } catch { return (.unknown, "\(error)") }
            do {
                let code = try await NetworkChecks.httpGet(host: http.host ?? podIP ?? "127.0.0.1", port: port, path: http.path ?? "/",
                                                           headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) }, timeout: timeout)
                return (200..<400).contains(code) ? (.success, "") : (.failure, "HTTP probe failed with statuscode: \(code)")
            } catch {
                return (.failure, "Get \"http://\(http.host ?? podIP ?? "127.0.0.1"):\(port)\(http.path ?? "/")\": \(error)")
            }
        }
        if let tcp = probe.tcpSocket {
            let port: Int
            do { port = try resolveContainerPort(tcp.port, container: container) } catch { return (.unknown, "\(error)") }
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
    /// A failure carries `Run`'s message, which the kubelet keeps for the container's status and
    /// out of events (they say only `PostStartHook failed`, so no secret in the output leaks).
    func hook(_ handler: LifecycleHandler, pod: Pod, container: Container, process: ContainerProcess, env: [String], timeout: Duration?) async throws {
        let where_ = "for Container \"\(container.name)\" in Pod \"\(pod.name)_\(pod.namespace)(\(pod.uid))\""
        if let exec = handler.exec {
            let command = exec.command ?? []
            let r = await runtime.exec(in: process, argv: command, env: env, workingDir: container.workingDir, timeout: timeout ?? .seconds(86400 * 365))
            if r.exitCode != 0 {
                let error = "command '\(command.joined(separator: " "))' exited with \(r.exitCode ?? 126): \(r.output)"
                throw HookFailure(message: "Exec lifecycle hook ([\(command.joined(separator: " "))]) \(where_) failed - error: \(error), message: \(String(reflecting: r.output))")
            }
        } else if let http = handler.httpGet {
            let host = http.host ?? podIP ?? "127.0.0.1", path = http.path ?? "/"
            var port = 0
            do {
                port = try resolveContainerPort(http.port, container: container)
                // `NewRequestForHTTPGetAction(…, "lifecycle")`: the hook's own User-Agent.
                _ = try await NetworkChecks.httpGet(host: host, port: port, path: path, headers: (http.httpHeaders ?? []).map { ($0.name, $0.value) },
                                                    userAgent: "kube-lifecycle/1.32", timeout: min(timeout ?? .seconds(10), .seconds(10)))
            } catch {
                throw HookFailure(message: "HTTP lifecycle hook (\(path)) \(where_) failed - error: Get \"http://\(host):\(port)\(path)\": \(error)")
            }
        } else if let sleep = handler.sleep {
            try? await Task.sleep(for: min(.seconds(sleep.seconds), timeout ?? .seconds(sleep.seconds)))
        } else if handler.tcpSocket != nil {
            throw HookFailure(message: "invalid handler: tcpSocket is not supported for lifecycle hooks")
        }
    }

    struct HookFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// `probe.ResolveContainerPort`: a number, a name among the container's ports, or a number
    /// written as a string; otherwise Go's `strconv.Atoi` error, and a port outside 1–65535 is
    /// `invalid port number`.
    func resolveContainerPort(_ port: IntOrString, container: Container) throws -> Int {
        let number: Int
        switch port {
        case .int(let p): number = p
        case .string(let name):
            if let p = container.ports?.first(where: { $0.name == name }) {
                number = Int(p.containerPort)
            } else if let p = Int(name) {
                number = p
            } else {
                throw NetworkChecks.Failure(description: "strconv.Atoi: parsing \(String(reflecting: name)): invalid syntax")
            }
        }
        guard number > 0 && number < 65536 else { throw NetworkChecks.Failure(description: "invalid port number: \(number)") }
        return number
    }
}
