import Foundation
import Testing
@testable import ContainerRuntime

@Suite("ImageCatalog") struct ImageCatalogTests {
    @Test func normalization() {
        for ref in ["busybox", "busybox:1.36", "busybox:latest", "docker.io/library/busybox:latest",
                    "library/busybox@sha256:abcdef", "BusyBox", "index.docker.io/library/busybox:1.36@sha256:00"] {
            #expect(ImageCatalog.normalize(ref, keepTag: false) == "busybox", "\(ref)")
        }
        #expect(ImageCatalog.normalize("myapp:dev", keepTag: true) == "myapp:dev")
        #expect(ImageCatalog.normalize("localhost:5000/team/app:1", keepTag: false) == "localhost:5000/team/app")
        #expect(ImageCatalog.normalize("localhost:5000/team/app", keepTag: false) == "localhost:5000/team/app")
    }

    @Test func dockerCommandSemantics() throws {
        let scratch = try Scratch()
        let file = scratch.dir + "/images.yaml"
        try """
        myapp:dev:
          command: [./bin/myapp, --serve]
          args: [--port, "8080"]
          env: {MODE: dev}
          workingDir: /srv
        other:
          command: [/usr/bin/env]
          env:
            - {name: A, value: "1"}
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let catalog = try ImageCatalog(userFile: file, stateDir: scratch.dir + "/images")
        let d = try catalog.resolve(image: "myapp:dev", command: nil, args: nil)
        #expect(d.argv == [scratch.dir + "/bin/myapp", "--serve", "--port", "8080"])
        #expect(d.env.contains("MODE=dev") && d.env.contains { $0.hasPrefix("PATH=") })
        #expect(d.workingDir == "/srv")
        // args replace cmd, keep the entrypoint
        #expect(try catalog.resolve(image: "myapp:dev", command: nil, args: ["-v"]).argv == [scratch.dir + "/bin/myapp", "--serve", "-v"])
        // command replaces the entrypoint and drops cmd
        #expect(try catalog.resolve(image: "myapp:dev", command: ["x"], args: nil).argv == ["x"])
        #expect(try catalog.resolve(image: "myapp:dev", command: ["x"], args: ["y"]).argv == ["x", "y"])
        #expect(try catalog.resolve(image: "docker.io/library/other", command: nil, args: nil).env.contains("A=1"))
        // myapp:dev is tagged: another tag is a different image
        #expect(throws: ImageError.self) { try catalog.resolve(image: "myapp:prod", command: nil, args: nil) }

        let busybox = try catalog.resolve(image: "docker.io/library/busybox:1.36", command: nil, args: nil)
        #expect(busybox.argv == ["sh"])
        #expect(busybox.env.first == "PATH=\(scratch.dir)/images/busybox/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(!FileManager.default.fileExists(atPath: scratch.dir + "/images/busybox/bin/wget"), "resolving touches no disk")
        catalog.prepare()
        #expect(FileManager.default.fileExists(atPath: scratch.dir + "/images/busybox/bin/wget"))
        #expect(try catalog.resolve(image: "busybox", command: nil, args: ["echo", "hi"]).argv == ["echo", "hi"])
        let nginx = try catalog.resolve(image: "nginx:1.27", command: nil, args: nil)
        #expect(nginx.argv == ["nginx", "-g", "daemon off;"])
        #expect(nginx.files["/etc/nginx/nginx.conf"] != nil)
    }

    @Test func unknownImage() throws {
        let scratch = try Scratch()
        let catalog = try ImageCatalog(userFile: nil, stateDir: scratch.dir)
        do {
            _ = try catalog.resolve(image: "myapp:dev", command: nil, args: nil)
            Issue.record("expected an error")
        } catch {
            #expect(error.reason == "ErrImagePull")
            #expect(error.description == #"image "myapp:dev" is not in Tandem's image catalog: map it to a host command in an --images file (image: {command: [...]})"#)
        }
    }

    @Test func badUserFile() throws {
        let scratch = try Scratch()
        let file = scratch.dir + "/images.yaml"
        try "app:\n  comand: [x]\n".write(toFile: file, atomically: true, encoding: .utf8)
        #expect(throws: RuntimeError.self) { try ImageCatalog(userFile: file, stateDir: scratch.dir) }
    }
}

@Suite("Images in containers") struct ImageContainerTests {
    /// Runs `sh -c script` in a busybox container; returns its output lines (it must exit 0).
    func busyboxShell(_ scratch: Scratch, _ script: String) async throws -> [String] {
        let catalog = try ImageCatalog(userFile: nil, stateDir: scratch.dir + "/images")
        catalog.prepare()
        let image = try catalog.resolve(image: "busybox", command: ["sh", "-c", script], args: nil)
        let runtime = try Runtime(logEcho: nil)
        let spec = scratch.spec(image.argv, env: image.env)
        defer { runtime.removeState(spec) }
        let c = try await runtime.start(spec)
        #expect(await c.wait().exitCode == 0)
        return try criRecords(spec.logPath).map(\.text)
    }

    @Test func busyboxAppletsComeFirst() async throws {
        let scratch = try Scratch()
        let out = try await busyboxShell(scratch, "which wget; tail --help 2>&1 | head -1")
        #expect(out.first == scratch.dir + "/images/busybox/bin/wget")
        #expect(out.last?.hasPrefix("BusyBox") == true, "\(out)")
    }

    /// Debian 12's busybox dies of SIGSEGV on `wget -T`; a busybox shell runs the applet from its
    /// own binary, so the image's copy must have it fixed: connection refused is exit 1, not 139.
    @Test func wgetTimeoutFlagFromTheShell() async throws {
        let scratch = try Scratch()
        let out = try await busyboxShell(scratch, "wget -q -T 2 -O- http://127.0.0.1:1/; echo rc=$?")
        #expect(out.contains("rc=1"), "\(out)")
        let bin = scratch.dir + "/images/busybox/bin"
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: bin + "/sh") == "busybox")
        // Only wget's option string differs from the host's binary, and only by the `+`.
        let host = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "/usr/bin/busybox")))
        let copy = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bin + "/busybox")))
        #expect(host.count == copy.count)
        let changed = zip(host, copy).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(!changed.isEmpty && changed.count < 64, "\(changed.count) bytes changed")
        #expect(ImageCatalog.fixedBusybox(Data(host)) == Data(copy))
    }

    @Test func twoNginxInTwoNetworkNamespaces() async throws {
        let scratch = try Scratch()
        let catalog = try ImageCatalog(userFile: nil, stateDir: scratch.dir + "/images")
        catalog.prepare()
        let busybox = try catalog.resolve(image: "busybox", command: nil, args: nil)
        let nginx = try catalog.resolve(image: "nginx", command: nil, args: nil)
        let runtime = try Runtime(logEcho: nil)
        let names = (0..<2).map { _ in "tandem-test-" + UUID().uuidString.prefix(8).lowercased() }
        for name in names {
            #expect(try await Command.run(["ip", "netns", "add", name]).status == 0)
            #expect(try await Command.run(["ip", "-n", name, "link", "set", "lo", "up"]).status == 0)
        }
        defer { for name in names { _ = Glibc.system("ip netns del \(name)") } }
        var containers: [(ContainerProcess, ContainerSpec)] = []
        for name in names {
            let spec = scratch.spec(nginx.argv, env: nginx.env, netns: "/run/netns/\(name)", files: nginx.files)
            containers.append((try await runtime.start(spec), spec))
        }
        for (c, _) in containers {
            var body = ""
            for _ in 0..<50 { // nginx needs a moment to bind
                let r = await runtime.exec(in: c, argv: ["wget", "-qO-", "http://127.0.0.1/"], env: busybox.env,
                                           workingDir: nil, timeout: .seconds(5))
                body = r.output
                if r.exitCode == 0 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(body.contains("Welcome to nginx!"))
        }
        for (c, spec) in containers {
            c.signal(SIGQUIT) // nginx's graceful shutdown, as the image's STOPSIGNAL
            let exit = await c.wait()
            #expect(exit.exitCode == 0)
            // The access log is linked to stdout, as in the official image.
            let log = try criRecords(spec.logPath)
            #expect(log.contains { $0.stream == "stdout" && $0.text.contains("\"GET / HTTP/1.1\" 200") })
            runtime.removeState(spec)
        }
    }
}
