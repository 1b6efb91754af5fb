import Foundation

/// Measures the CRI log capture path against a plain `> file` redirect, so `tandem
/// bench` can check the runtime keeps up with chatty containers.
public enum RuntimeBench {
    public struct LogCaptureResult: Sendable {
        public var bytes: Int
        /// Writing the same stream straight into a file on the host.
        public var baselineSeconds: Double
        /// A container writing it to stdout, captured into its CRI log.
        public var captureSeconds: Double
        /// captureSeconds relative to the baseline's speed (1.0 = as fast as `cat > file`).
        public var relativeSpeed: Double { baselineSeconds / captureSeconds }
    }

    /// Runs `yes <line> | head -c bytes` once piped into `cat > file` and once as a container
    /// whose stdout tandem captures; `workDir` holds both outputs and is cleaned afterwards.
    /// The anchor goes through `cat` so both sides are the same writer feeding a pipe whose
    /// reader writes the file (a bare `head > file` skips the pipe hop but writes the file
    /// in head's 8 KiB pieces, which is not what a log collector competes with).
    public static func logCapture(bytes: Int = 1 << 30, lineLength: Int = 100, workDir: String) async throws -> LogCaptureResult {
        try Sys.mkdirs(workDir)
        defer { try? FileManager.default.removeItem(atPath: workDir) }
        let line = String(repeating: "x", count: max(1, lineLength - 1))
        let producer = "yes \(line) | head -c \(bytes)"
        let clock = ContinuousClock()

        let t0 = clock.now
        let base = try await Command.run(["sh", "-c", "\(producer) | cat > \(workDir)/baseline.out"])
        let baseline = clock.now - t0
        guard base.status == 0 else { throw RuntimeError("baseline failed: \(String(decoding: base.stderr, as: UTF8.self))") }
        try? FileManager.default.removeItem(atPath: workDir + "/baseline.out")

        let runtime = try Runtime(logEcho: nil)
        let spec = ContainerSpec(id: "bench", argv: ["sh", "-c", producer], env: ["PATH=/usr/bin:/bin"],
                                 hostname: "bench", stateDir: workDir + "/state", logPath: workDir + "/bench.log")
        let t1 = clock.now
        let c = try await runtime.start(spec)
        let exit = await c.wait()
        let capture = clock.now - t1
        runtime.removeState(spec)
        guard exit.exitCode == 0 else { throw RuntimeError("bench container exited \(exit.exitCode)") }
        func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }
        return LogCaptureResult(bytes: bytes, baselineSeconds: seconds(baseline), captureSeconds: seconds(capture))
    }
}
