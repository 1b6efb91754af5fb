import Foundation
import OneShotHTTP
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#endif

/// Tells the program that reads `config.env` that it changed. MinIO's sidecar tells no one
/// (MinIO re-reads the file only on `mc admin service restart`); this adds the two usual ways:
/// a signal to a process found by name — which needs `shareProcessNamespace: true` on a cluster
/// so the sidecar sees the main container's processes — and configmap-reload's webhook, a POST
/// expected to answer 200, retried with back-off.
public struct ChangeNotifier: Sendable {
    public var signal: Int32?
    public var processName: String?
    public var webhook: OneShotRequest?
    public var webhookRetries: Int
    public var webhookTimeout: Duration

    public init(signal: Int32? = nil, processName: String? = nil, webhook: OneShotRequest? = nil,
                webhookRetries: Int = 3, webhookTimeout: Duration = .seconds(2)) {
        self.signal = signal
        self.processName = processName
        self.webhook = webhook
        self.webhookRetries = webhookRetries
        self.webhookTimeout = webhookTimeout
    }

    public var isEmpty: Bool { signal == nil && webhook == nil }

    /// `HUP`, `SIGHUP`, `hup` or a number → the signal number.
    public static func parseSignal(_ s: String) -> Int32? {
        if let n = Int32(s), n > 0, n < 65 { return n }
        var name = s.uppercased()
        if name.hasPrefix("SIG") { name.removeFirst(3) }
        let table: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "USR1": SIGUSR1, "USR2": SIGUSR2,
                                      "TERM": SIGTERM, "ALRM": SIGALRM, "WINCH": SIGWINCH, "CONT": SIGCONT]
        return table[name]
    }

    public func notify(log: @Sendable (String) -> Void) async {
        if let signal, let processName {
            let pids = Self.processes(named: processName)
            if pids.isEmpty { log("no process named \"\(processName)\" to signal (does the pod set shareProcessNamespace: true?)") }
            for pid in pids {
                if kill(pid, signal) == 0 {
                    log("sent signal \(signal) to \(processName) (pid \(pid))")
                } else {
                    log("signal \(signal) to pid \(pid): \(String(cString: strerror(errno)))")
                }
            }
        }
        if let webhook { await post(webhook, log: log) }
    }

    private func post(_ request: OneShotRequest, log: @Sendable (String) -> Void) async {
        var delay = Duration.milliseconds(200)
        for attempt in 0...max(0, webhookRetries) {
            do {
                let status = try await request.send(timeout: webhookTimeout)
                if status == .ok {
                    log("\(request.method) \(request.url): \(status.code)")
                    return
                }
                log("\(request.method) \(request.url): status \(status.code), expected 200 (attempt \(attempt + 1))")
            } catch {
                log("\(error) (attempt \(attempt + 1))")
            }
            if attempt == webhookRetries { break }
            try? await Task.sleep(for: delay)
            delay *= 2
        }
        log("\(request.method) \(request.url): giving up after \(webhookRetries + 1) attempts")
    }

    /// Processes whose name (`/proc/PID/comm`, or the base name of `argv[0]`) is `name`, not
    /// counting this one.
    static func processes(named name: String) -> [pid_t] {
        let me = getpid()
        var found: [pid_t] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry), pid != me else { continue }
            let comm = (try? String(contentsOfFile: "/proc/\(entry)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .newlines)
            var argv0 = ""
            if let cmdline = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
               let first = cmdline.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false).first {
                argv0 = (String(decoding: first, as: UTF8.self) as NSString).lastPathComponent
            }
            // The kernel keeps 15 bytes of the name in comm.
            let commMatches = comm == name || (name.utf8.count > 15 && comm.map { name.utf8.starts(with: $0.utf8) && $0.utf8.count == 15 } == true)
            if commMatches || argv0 == name { found.append(pid) }
        }
        return found
    }
}
