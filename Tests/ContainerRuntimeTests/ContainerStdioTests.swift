import Foundation
import Testing
@testable import ContainerRuntime

/// A container's stdio as the runtime holds it for `kubectl attach`, under a runtime whose shims
/// die with it (`tandem run`'s; serve's persistent shims are covered end to end).
@Suite struct ContainerStdioTests {
    /// Collects what `follow()` yields until the stream ends.
    static func collect(_ stream: AsyncStream<(stderr: Bool, bytes: [UInt8])>) -> Task<(out: String, err: String), Never> {
        Task {
            var out = [UInt8](), err = [UInt8]()
            for await chunk in stream {
                if chunk.stderr { err += chunk.bytes } else { out += chunk.bytes }
            }
            return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
        }
    }

    static func write(_ fd: Int32, _ text: String) {
        _ = text.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, text.utf8.count) }
    }

    @Test func stdinOnceIsClosedAfterTheFirstSession() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        var spec = scratch.spec(["sh", "-c", "while read l; do echo got $l; echo err-$l >&2; done; echo eof"])
        (spec.stdin, spec.stdinOnce) = (true, true)
        let c = try await runtime.start(spec)
        let output = Self.collect(c.stdio.follow())
        let session = try #require(c.stdio.openStdin())
        Self.write(session, "a\nb\n")
        close(session)
        // Stdin is still open (the runtime holds it): the container waits for more.
        try await Task.sleep(for: .milliseconds(300))
        #expect(isAlive(c.pid))
        c.stdio.stdinSessionEnded()
        #expect(c.stdio.openStdin() == nil)
        let exit = await c.wait()
        #expect(exit.exitCode == 0)
        let (out, err) = await output.value
        #expect(out == "got a\ngot b\neof\n")
        #expect(err == "err-a\nerr-b\n")
    }

    @Test func withoutStdinOnceStdinStaysOpenAcrossSessions() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        var spec = scratch.spec(["sh", "-c", "while read l; do echo got $l; done"])
        spec.stdin = true
        let c = try await runtime.start(spec)
        let output = Self.collect(c.stdio.follow())
        for line in ["one", "two"] {
            let session = try #require(c.stdio.openStdin())
            Self.write(session, line + "\n")
            close(session)
            c.stdio.stdinSessionEnded()
        }
        // Both lines arrive and the container still waits for more.
        let deadline = Date().addingTimeInterval(10)
        while (try? criRecords(spec.logPath))?.count != 2, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(isAlive(c.pid))
        c.signal(SIGKILL)
        _ = await c.wait()
        #expect(await output.value.out == "got one\ngot two\n")
        #expect(try criRecords(spec.logPath).map(\.text) == ["got one", "got two"])
    }

    @Test func aTerminalIsTheContainersControllingTtyAndItsOneStream() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        var spec = scratch.spec(["sh", "-c", "read l; tty; stty size; echo err >&2; echo got $l"])
        (spec.stdin, spec.tty) = (true, true)
        let c = try await runtime.start(spec)
        let output = Self.collect(c.stdio.follow())
        c.stdio.resize(width: 90, height: 30)
        let session = try #require(c.stdio.openStdin())
        Self.write(session, "typed\n")
        close(session)
        let exit = await c.wait()
        #expect(exit.exitCode == 0)
        let (out, err) = await output.value
        // The line discipline echoes the input and ends lines with \r\n; stderr is the terminal too.
        #expect(out.hasPrefix("typed\r\n/dev/pts/"), "\(out)")
        #expect(out.hasSuffix("\r\n30 90\r\nerr\r\ngot typed\r\n"), "\(out)")
        #expect(err.isEmpty)
        // Logged as one stdout stream.
        #expect(try criRecords(spec.logPath).allSatisfy { $0.stream == "stdout" })
    }
}
