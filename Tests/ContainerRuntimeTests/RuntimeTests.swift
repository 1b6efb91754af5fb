import CTandemInit
import Foundation
import Testing
@testable import ContainerRuntime

@Suite("Runtime") struct RuntimeTests {
    @Test func exitCodeAndCRILog() async throws {
        let scratch = try Scratch()
        let lines = LinesBox()
        let runtime = try Runtime { id, stream, line in lines.add("\(stream.rawValue):\(line)") }
        let spec = scratch.spec(["sh", "-c", "echo out; echo err >&2; printf last; exit 3"])
        let c = try await runtime.start(spec)
        let exit = await c.wait()
        #expect(exit.exitCode == 3)
        #expect(exit.signal == nil)
        let records = try criRecords(spec.logPath)
        #expect(records.contains { $0 == ("stdout", "F", "out") })
        #expect(records.contains { $0 == ("stderr", "F", "err") })
        #expect(records.contains { $0 == ("stdout", "F", "last") })
        let raw = try String(contentsOfFile: spec.logPath, encoding: .utf8)
        let first = raw.split(separator: "\n")[0]
        #expect(first.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) F .*/) != nil)
        #expect(lines.all.contains("stdout:out") && lines.all.contains("stderr:err"))
        runtime.removeState(spec)
        #expect(FileManager.default.fileExists(atPath: spec.logPath))
    }

    /// Each start gets a fresh writable layer of its own: what one container writes to its root
    /// (over a file of the host's, and in a new directory) neither reaches the host nor the next
    /// container, an image file it edits is copied up rather than changed, and nothing of the
    /// layer is on the host's disk.
    @Test func writableLayerIsFreshAndTheContainersOwn() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let marker = "tandem-layer-\(UInt32.random(in: 0...UInt32.max))"
        let files = ["/opt/\(marker)/image.txt": FileContent("from image\n")]
        let write = scratch.spec(["sh", "-c", "echo mine > /etc/hostname && mkdir -p /var/\(marker) && echo x > /var/\(marker)/f"
                                  + " && echo edited > /opt/\(marker)/image.txt && cat /etc/hostname /opt/\(marker)/image.txt"], files: files)
        let first = try await runtime.start(write)
        #expect(await first.wait().exitCode == 0)
        #expect(try criRecords(write.logPath).map(\.text) == ["mine", "edited"])
        #expect(!FileManager.default.fileExists(atPath: "/var/\(marker)"))
        #expect((try? String(contentsOfFile: "/etc/hostname", encoding: .utf8)) != "mine\n")
        #expect(try String(contentsOfFile: try #require(write.imageFiles) + "/opt/\(marker)/image.txt", encoding: .utf8) == "from image\n")

        let read = scratch.spec(["sh", "-c", "ls /var/\(marker) 2>&1; cat /opt/\(marker)/image.txt"], files: files)
        let second = try await runtime.start(read)
        _ = await second.wait()
        let out = try criRecords(read.logPath).map(\.text)
        #expect(out.contains { $0.contains("No such file") })
        #expect(out.contains("from image"))
        // Both containers copied from one unpacked tree.
        #expect(read.imageFiles == write.imageFiles)
        runtime.removeState(write)
        runtime.removeState(read)
        // No container has a state dir on a runtime that is not persistent.
        #expect(!FileManager.default.fileExists(atPath: write.stateDir))
        #expect(!FileManager.default.fileExists(atPath: read.stateDir))
    }

    @Test func startErrorForMissingCommand() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        await #expect(throws: ContainerStartError.self) {
            _ = try await runtime.start(scratch.spec(["no-such-binary-xyz"]))
        }
        do {
            _ = try await runtime.start(scratch.spec(["no-such-binary-xyz"]))
        } catch let e as ContainerStartError {
            #expect(e.message.contains("exec no-such-binary-xyz"))
            #expect(e.message.contains("No such file"))
        }
    }

    /// `create` sets a container up and leaves it waiting: nothing runs and nothing is logged until
    /// `start`, whose command line and environment replace the spec's; a discarded one leaves no
    /// process, log or state behind; one whose set-up failed is set up afresh at `start`.
    @Test func createThenStartOrDiscard() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let tag = "6000\(Int.random(in: 100...999))"
        let vol = scratch.dir + "/vol-\(tag)"
        try FileManager.default.createDirectory(atPath: vol, withIntermediateDirectories: true)
        let spec = scratch.spec(["sh", "-c", "echo never"], mounts: [BindMount(source: vol, target: "/data")])
        let created = try runtime.create(spec)
        try await Task.sleep(for: .milliseconds(300))
        // Until its start the log has a name of its own, so no `N.log` counts as a run.
        #expect(!FileManager.default.fileExists(atPath: spec.logPath))
        #expect(try criRecords(spec.logPath + ".created").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: vol + "/ran"))
        let c = try await created.start(argv: ["sh", "-c", "echo \"$WHO $0\" > /data/ran; echo started; sleep \(tag)", "now"],
                                        env: ["PATH=/usr/bin:/bin", "WHO=late"])
        for _ in 0..<100 where hostProcesses(matching: "sleep \(tag)").isEmpty { try await Task.sleep(for: .milliseconds(50)) }
        #expect(hostProcesses(matching: "sleep \(tag)").count == 1)
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)
        #expect(try criRecords(spec.logPath).map(\.text) == ["started"])
        #expect(try String(contentsOfFile: vol + "/ran", encoding: .utf8) == "late now\n")

        let unstarted = scratch.spec(["sleep", tag])
        let discarded = try runtime.create(unstarted)
        try await Task.sleep(for: .milliseconds(300))
        await discarded.discard()
        #expect(!FileManager.default.fileExists(atPath: unstarted.logPath))
        #expect(!FileManager.default.fileExists(atPath: unstarted.logPath + ".created"))
        #expect(hostProcesses(matching: "sleep \(tag)").isEmpty)

        // The volume is missing when the container is created, and there when it starts.
        let late = scratch.dir + "/late-\(tag)"
        let retried = try runtime.create(scratch.spec(["true"], mounts: [BindMount(source: late, target: "/late")]))
        try FileManager.default.createDirectory(atPath: late, withIntermediateDirectories: true)
        let r = try await retried.start(argv: ["sh", "-c", "test -d /late"], env: ["PATH=/usr/bin:/bin"])
        #expect(await r.wait().exitCode == 0)
    }

    /// A created container killed while it waits (its shim then reports it as if it had exec'd) is
    /// set up afresh at `start`, as one whose set-up failed.
    @Test func createdContainerKilledWhileWaitingStartsAfresh() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let spec = scratch.spec(["true"])
        let created = try runtime.create(spec)
        var child: Int32?
        for _ in 0..<100 where child == nil {
            if let shim = created.shimPid,
               let text = try? String(contentsOfFile: "/proc/\(shim)/task/\(shim)/children", encoding: .utf8) {
                child = text.split(separator: " ").first.flatMap { Int32($0) }
            }
            if child == nil { try await Task.sleep(for: .milliseconds(20)) }
        }
        kill(try #require(child), SIGKILL)
        try await Task.sleep(for: .milliseconds(200))
        let c = try await created.start(argv: ["sh", "-c", "echo afresh"], env: ["PATH=/usr/bin:/bin"])
        #expect(await c.wait().exitCode == 0)
        #expect(try criRecords(spec.logPath).map(\.text) == ["afresh"])
        #expect(!FileManager.default.fileExists(atPath: spec.logPath + ".created"))
    }

    @Test func pid1IgnoresSIGTERMAndDiesWithSIGKILL() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let c = try await runtime.start(scratch.spec(["sh", "-c", "sleep 100; echo never"]))
        c.signal(SIGTERM)
        try await Task.sleep(for: .seconds(1))
        #expect(isAlive(c.pid))
        c.signal(SIGKILL)
        let exit = await c.wait()
        #expect(exit.exitCode == 137)
        #expect(exit.signal == SIGKILL)
    }

    @Test func trapTermExitsZero() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let c = try await runtime.start(scratch.spec(["sh", "-c", "trap 'exit 0' TERM; echo ready; while true; do sleep 0.1; done"]))
        try await Task.sleep(for: .milliseconds(300))
        c.signal(SIGTERM)
        let exit = await c.wait()
        #expect(exit.exitCode == 0)
        #expect(exit.signal == nil)
    }

    @Test func mountNamespaceIsPrivate() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let vol = scratch.dir + "/vol", ro = scratch.dir + "/ro"
        try FileManager.default.createDirectory(atPath: vol, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        try "hello\n".write(toFile: vol + "/greeting", atomically: true, encoding: .utf8)
        try "host\n".write(toFile: scratch.dir + "/single", atomically: true, encoding: .utf8)
        let marker = "tandem-test-" + UUID().uuidString.prefix(8)
        let spec = scratch.spec(["sh", "-c", """
            cat /config-xyz/greeting
            echo written > /config-xyz/fromcontainer
            if echo x > /ro-xyz/file 2>/tmp/err; then echo ro-writable; else cat /tmp/err; fi
            echo private > /etc/\(marker)
            cat /etc/\(marker)
            cat /var/run/secrets-xyz/single
            """], mounts: [
                BindMount(source: vol, target: "/config-xyz"),
                BindMount(source: ro, target: "/ro-xyz", readOnly: true),
                BindMount(source: scratch.dir + "/single", target: "/var/run/secrets-xyz/single", readOnly: true),
            ])
        let c = try await runtime.start(spec)
        let exit = await c.wait()
        let out = try criRecords(spec.logPath).map(\.text)
        #expect(exit.exitCode == 0, "\(out)")
        #expect(out.contains("hello"))
        #expect(out.contains { $0.contains("Read-only file system") })
        #expect(!out.contains("ro-writable"))
        #expect(out.contains("private"))
        #expect(out.contains("host"))
        #expect(FileManager.default.fileExists(atPath: vol + "/fromcontainer"))
        #expect(!FileManager.default.fileExists(atPath: "/config-xyz"))
        #expect(!FileManager.default.fileExists(atPath: "/etc/\(marker)"))
        // /var/run -> /run is an absolute symlink: the mount point must be made inside the container.
        #expect(!FileManager.default.fileExists(atPath: "/run/secrets-xyz"))
        runtime.removeState(spec)
    }

    @Test func hostnameProcAndFiles() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let spec = scratch.spec(["sh", "-c", "hostname; echo pid=$$; cat /proc/1/cmdline | tr '\\0' ' '; echo; cat /opt/tandem-file.txt; pwd"],
                                hostname: "my-pod-1", workingDir: "/opt/app",
                                files: ["/opt/tandem-file.txt": FileContent("from catalog\n")])
        let c = try await runtime.start(spec)
        _ = await c.wait()
        let out = try criRecords(spec.logPath).map(\.text)
        #expect(out.first == "my-pod-1")
        #expect(out.contains("pid=1"))
        #expect(out.contains("from catalog"))
        #expect(out.contains("/opt/app"))
        #expect(!FileManager.default.fileExists(atPath: "/opt/tandem-file.txt"))
        runtime.removeState(spec)
    }

    @Test func execSeesContainerAndTimesOut() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let vol = scratch.dir + "/vol"
        try FileManager.default.createDirectory(atPath: vol, withIntermediateDirectories: true)
        try "inside\n".write(toFile: vol + "/f", atomically: true, encoding: .utf8)
        let spec = scratch.spec(["sleep", "100"], mounts: [BindMount(source: vol, target: "/data-xyz")], hostname: "exec-host")
        let c = try await runtime.start(spec)
        let env = ["PATH=/usr/bin:/bin"]
        let r = await runtime.exec(in: c, argv: ["sh", "-c", "cat /data-xyz/f; hostname; echo err >&2; exit 4"], env: env,
                                   workingDir: nil, timeout: .seconds(10))
        #expect(r.exitCode == 4)
        #expect(r.output.contains("inside") && r.output.contains("exec-host") && r.output.contains("err"))
        #expect(!r.timedOut)
        let missing = await runtime.exec(in: c, argv: ["nope-xyz"], env: env, workingDir: nil, timeout: .seconds(5))
        #expect(missing.exitCode == 127)
        let clock = ContinuousClock()
        let t0 = clock.now
        let slow = await runtime.exec(in: c, argv: ["sh", "-c", "sleep 30; echo done"], env: env, workingDir: nil,
                                      timeout: .milliseconds(500))
        #expect(slow.timedOut)
        #expect(slow.exitCode == nil)
        #expect(clock.now - t0 < .seconds(5))
        c.signal(SIGKILL)
        _ = await c.wait()
        #expect(hostProcesses(matching: "sleep 30").isEmpty)
        runtime.removeState(spec)
    }

    @Test func killingTheShimKillsTheWholeContainer() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let tag = "1000\(Int.random(in: 100...999))"
        let c = try await runtime.start(scratch.spec(["sh", "-c", "sleep \(tag) & sleep \(tag)"]))
        try await Task.sleep(for: .milliseconds(300))
        #expect(hostProcesses(matching: "sleep \(tag)").count == 2)
        c.killShim()
        let exit = await c.wait()
        #expect(exit.exitCode == 137)
        #expect(hostProcesses(matching: "sleep \(tag)").isEmpty)
    }

    @Test func severedLifelineKillsContainers() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let tag = "2000\(Int.random(in: 100...999))"
        let a = try await runtime.start(scratch.spec(["sh", "-c", "sleep \(tag) & sleep \(tag)"]))
        let b = try await runtime.start(scratch.spec(["sleep", tag]))
        try await Task.sleep(for: .milliseconds(300))
        #expect(hostProcesses(matching: "sleep \(tag)").count == 3)
        runtime.severLifeline()
        let ea = await a.wait(), eb = await b.wait()
        #expect(ea.exitCode == 137 && eb.exitCode == 137)
        #expect(hostProcesses(matching: "sleep \(tag)").isEmpty)
    }

    @Test func shimsAreForkedByTheZygote() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        let c = try await runtime.start(scratch.spec(["sleep", "100"]))
        let shim = try #require(c.shimPid)
        #expect(parentPid(shim) == zygote)
        let r = await runtime.exec(in: c, argv: ["sh", "-c", "echo $PPID"], env: ["PATH=/usr/bin:/bin"], workingDir: nil,
                                   timeout: .seconds(10))
        #expect(r.exitCode == 0)
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)
        // Shims are the zygote's children and auto-reaped: no zombies pile up. The shim closes
        // its pipes just before it exits, so allow it a moment to be gone.
        var gone = false
        for _ in 0..<40 where !gone {
            gone = !FileManager.default.fileExists(atPath: "/proc/\(shim)")
            if !gone { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(gone)
    }

    /// The zygote (as root) forks its spares at the lowest priority but keeps them ready at tandem's, and
    /// leaves the Swift libraries out of them: a shim runs only C and libc. A container started
    /// from a spare runs at tandem's priority, and a pod's containers find a spare each.
    @Test func zygoteKeepsSparesReadyAtTandemsPriorityWithoutTheSwiftLibraries() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        var spares: [Int32] = []
        for _ in 0..<1000 where spares.count < Int(TANDEM_ZYGOTE_SPARES) {
            try await Task.sleep(for: .milliseconds(10))
            spares = childPids(zygote).filter { niceness($0) == niceness(getpid()) }
        }
        #expect(spares.count == Int(TANDEM_ZYGOTE_SPARES))
        #expect(niceness(zygote) == 19)
        let zygoteMaps = try String(contentsOfFile: "/proc/\(zygote)/maps", encoding: .utf8)
        #expect(zygoteMaps.contains("Foundation"))
        for spare in spares {
            let maps = try String(contentsOfFile: "/proc/\(spare)/maps", encoding: .utf8)
            #expect(!maps.contains("Foundation") && !maps.contains("libswift"))
        }
        let spec = scratch.spec(["sh", "-c", "cut -d' ' -f19 /proc/self/stat; exec sleep 100"])
        let c = try await runtime.start(spec)
        #expect(parentPid(try #require(c.shimPid)) == zygote)
        var printed: [String] = []
        for _ in 0..<200 where printed.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            printed = (try? criRecords(spec.logPath).map(\.text)) ?? []
        }
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)
        #expect(printed == [String(niceness(getpid()) ?? -99)])
    }

    /// A spare makes a container's root while it waits (init.c `prepare_root`): each holds its
    /// prepared mount namespace. A container started from one keeps none of it in its shim, and
    /// sees the same file systems at the same places as a container whose root is made at its
    /// start (one whose image carries files), with only stdio open in its PID 1.
    @Test func sparesPrepareTheRootAContainerGets() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        func holdsPreparedRoot(_ pid: pid_t) -> Bool { access("/proc/\(pid)/fd/\(TANDEM_PREPARED_ROOT_FD)", F_OK) == 0 }
        var prepared: [Int32] = []
        for _ in 0..<1000 where prepared.count < Int(TANDEM_ZYGOTE_SPARES) {
            try await Task.sleep(for: .milliseconds(10))
            prepared = childPids(zygote).filter(holdsPreparedRoot)
        }
        #expect(prepared.count == Int(TANDEM_ZYGOTE_SPARES))

        let script = "awk '{ for (i = 7; i < NF; i++) if ($i == \"-\") print $5, $(i + 1) }' /proc/self/mountinfo | sort; ls /proc/self/fd"
        let fromSpare = scratch.spec(["sh", "-c", script + "; exec sleep 100"])
        let c = try await runtime.start(fromSpare)
        let shim = try #require(c.shimPid)
        #expect(parentPid(shim) == zygote)
        var mounts: [String] = []
        for _ in 0..<200 where !mounts.contains("3") {
            try await Task.sleep(for: .milliseconds(10))
            mounts = (try? criRecords(fromSpare.logPath).map(\.text)) ?? []
        }
        #expect(!holdsPreparedRoot(shim), "the shim of a container in a prepared root still holds it")
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)

        let fresh = scratch.spec(["sh", "-c", script], files: ["/opt/tandem-fresh.txt": FileContent("fresh\n")])
        let f = try await runtime.start(fresh)
        #expect(await f.wait().exitCode == 0)
        let freshMounts = try criRecords(fresh.logPath).map(\.text)
        for mount in ["/ overlay", "/proc proc", "/dev tmpfs", "/dev/pts devpts", "/dev/mqueue mqueue", "/dev/shm tmpfs", "/sys sysfs"] {
            #expect(mounts.contains(mount), "\(mount) missing from \(mounts)")
        }
        #expect(mounts == freshMounts)
        // sh's stdio and ls's own descriptor of the directory it lists: nothing of the shim's.
        #expect(Array(mounts.suffix(4)) == ["0", "1", "2", "3"])
        runtime.removeState(fromSpare)
        runtime.removeState(fresh)
    }

    /// The zygote replaces a taken spare only once none was taken for a while, so that its forks
    /// do not compete with the pod starting, and then refills the whole pool.
    @Test func zygoteRefillsOnceNoSpareWasTakenForAWhile() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        // A spare is a child of the zygote without a child of its own (a shim has its container).
        func spares() -> [Int32] { childPids(zygote).filter { childPids($0).isEmpty } }
        for _ in 0..<1000 where spares().count < Int(TANDEM_ZYGOTE_SPARES) { try await Task.sleep(for: .milliseconds(10)) }
        #expect(spares().count == Int(TANDEM_ZYGOTE_SPARES))
        let clock = ContinuousClock()
        let taken = clock.now
        let c = try await runtime.start(scratch.spec(["sleep", "100"]))
        // Long enough for an immediate refill to be done, well before the delay is over. The
        // zygote counts the delay from after `taken`, so only a check made later than the delay
        // after `taken` could see a refill (a slow machine may take that long to start the
        // container; such a run says nothing).
        try await Task.sleep(for: .milliseconds(30))
        let counted = spares().count
        if clock.now - taken < .milliseconds(Int(TANDEM_ZYGOTE_REFILL_DELAY_MS) * 9 / 10) {
            #expect(counted == Int(TANDEM_ZYGOTE_SPARES) - 1)
        }
        var refilled = false
        for _ in 0..<500 where !refilled {
            try await Task.sleep(for: .milliseconds(10))
            refilled = spares().count == Int(TANDEM_ZYGOTE_SPARES)
        }
        #expect(refilled)
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)
    }

    /// Spares nobody has taken go with their zygote: none is left behind to take requests.
    @Test func untakenSparesDieWithTheirZygote() async throws {
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        var spares: [Int32] = []
        for _ in 0..<1000 where spares.count < Int(TANDEM_ZYGOTE_SPARES) {
            try await Task.sleep(for: .milliseconds(10))
            spares = childPids(zygote)
        }
        #expect(!spares.isEmpty)
        kill(zygote, SIGKILL)
        var alive = spares
        for _ in 0..<500 where !alive.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
            alive = spares.filter { processState($0).map { $0 != "Z" } ?? false }
        }
        #expect(alive.isEmpty)
    }

    @Test func directSpawnWhenTheZygoteIsGone() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let zygote = try #require(runtime.zygotePid)
        kill(zygote, SIGKILL)
        try await Task.sleep(for: .milliseconds(100))
        let c = try await runtime.start(scratch.spec(["sleep", "100"]))
        #expect(parentPid(try #require(c.shimPid)) == getpid())
        c.signal(SIGKILL)
        #expect(await c.wait().exitCode == 137)
        await #expect(throws: ContainerStartError.self) {
            _ = try await runtime.start(scratch.spec(["no-such-binary-xyz"]))
        }
    }

    @Test func concurrentWaiters() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        let c = try await runtime.start(scratch.spec(["sh", "-c", "exit 7"]))
        async let a = c.wait()
        async let b = c.wait()
        let (x, y) = await (a, b)
        #expect(x.exitCode == 7 && y.exitCode == 7)
        #expect(await c.wait().exitCode == 7)
        c.signal(SIGKILL) // no-op after exit
    }

    @Test func commandRun() async throws {
        let r = try await Command.run(["sh", "-c", "cat; echo e >&2; exit 2"], stdin: Data("in\n".utf8))
        #expect(r.status == 2)
        #expect(String(decoding: r.stdout, as: UTF8.self) == "in\n")
        #expect(String(decoding: r.stderr, as: UTF8.self) == "e\n")
        await #expect(throws: RuntimeError.self) { _ = try await Command.run(["/no/such/cmd"]) }
    }
}

final class LinesBox: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ s: String) { lock.lock(); lines.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return lines }
}

@Suite("CRI log") struct CRILogTests {
    @Test func longLinesArePartialAndCountsAreExact() async throws {
        let scratch = try Scratch()
        let runtime = try Runtime(logEcho: nil)
        // 40000-byte line -> P(16384) P(16384) F(7232); then 100000 short lines.
        let spec = scratch.spec(["sh", "-c", "head -c 40000 /dev/zero | tr '\\\\0' a; echo; seq 1 100000"])
        let c = try await runtime.start(spec)
        #expect(await c.wait().exitCode == 0)
        let records = try criRecords(spec.logPath)
        #expect(records.prefix(3).map(\.tag) == ["P", "P", "F"])
        #expect(records.prefix(3).map(\.text.count) == [16384, 16384, 40000 - 2 * 16384])
        let numbers = records.dropFirst(3).map(\.text)
        #expect(numbers.count == 100000)
        #expect(numbers.first == "1" && numbers.last == "100000")
        runtime.removeState(spec)
    }

    @Test func timestampFormat() {
        let f = TimestampFormatter()
        var out = [UInt8](repeating: 0, count: 30)
        f.format(seconds: 1_704_067_200, nanos: 5, into: &out)
        #expect(String(decoding: out, as: UTF8.self) == "2024-01-01T00:00:00.000000005Z")
    }
}

/// CRILogSink fed directly, with the input cut at every kind of boundary: the records
/// (stream, tag, content) must not depend on how the bytes arrived.
@Suite("CRI log sink") struct CRILogSinkTests {
    private func records(_ chunks: [[UInt8]], stream: LogStream = .stdout) throws -> (records: [(stream: String, tag: String, text: String)], echoed: [String]) {
        let path = NSTemporaryDirectory() + "crilog-\(UUID().uuidString).log"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let echoed = LinesBox()
        let sink = CRILogSink(fd: fd, stream: stream, clock: TimestampFormatter(), echo: { echoed.add($0) })
        for c in chunks { c.withUnsafeBytes { sink.consume($0) } }
        sink.finish()
        close(fd)
        // Every record starts with a well-formed 40-byte prefix.
        let raw = try String(contentsOfFile: path, encoding: .utf8)
        for line in raw.split(separator: "\n") {
            let b = Array(line.utf8)
            #expect(b.count >= 40 && b[29] == UInt8(ascii: "Z") && b[30] == UInt8(ascii: " ") && b[39] == UInt8(ascii: " "))
        }
        return (try criRecords(path), echoed.all)
    }

    private func split(_ bytes: [UInt8], every n: Int) -> [[UInt8]] {
        stride(from: 0, to: bytes.count, by: n).map { Array(bytes[$0..<min($0 + n, bytes.count)]) }
    }

    @Test func sameRecordsForAnySplit() throws {
        let max = CRILogSink.maxLine
        var input: [UInt8] = []
        input += Array("short\n\n".utf8)
        input += [UInt8](repeating: UInt8(ascii: "a"), count: max) + [0x0A]          // exactly 16 KiB: F
        input += [UInt8](repeating: UInt8(ascii: "b"), count: max + 1) + [0x0A]      // P + F(1)
        input += [UInt8](repeating: UInt8(ascii: "c"), count: 2 * max) + [0x0A]      // P + F(16384)
        input += [UInt8](repeating: UInt8(ascii: "d"), count: 40000) + [0x0A]        // P P F
        for i in 0..<2000 { input += Array("line \(i)\n".utf8) }
        input += Array("unterminated tail".utf8)
        let expected: [(String, Int)] = [("F", 5), ("F", 0), ("F", max), ("P", max), ("F", 1), ("P", max), ("F", max),
                                         ("P", max), ("P", max), ("F", 40000 - 2 * max)]
        for n in [1, 7, 100, 4096, max - 1, max, max + 1, 65536, input.count] {
            let (recs, echoed) = try records(split(input, every: n))
            #expect(recs.count == expected.count + 2001, "split \(n)")
            #expect(recs.prefix(expected.count).map { "\($0.tag)\($0.text.count)" } == expected.map { "\($0.0)\($0.1)" }, "split \(n)")
            #expect(recs.allSatisfy { $0.stream == "stdout" })
            #expect(recs[expected.count].text == "line 0" && recs[expected.count + 1999].text == "line 1999")
            #expect(recs.last.map { "\($0.tag) \($0.text)" } == "F unterminated tail")
            #expect(echoed == recs.map(\.text), "echo gets each record's content, split \(n)")
        }
    }

    @Test func stderrAndLongUnterminatedTail() throws {
        let tail = [UInt8](repeating: UInt8(ascii: "z"), count: 3 * CRILogSink.maxLine + 5)
        let (recs, _) = try records(split(Array("x\n".utf8) + tail, every: 5000), stream: .stderr)
        #expect(recs.map(\.stream).allSatisfy { $0 == "stderr" })
        #expect(recs.map { "\($0.tag)\($0.text.count)" } == ["F1", "P16384", "P16384", "P16384", "F5"])
    }

    @Test func manySmallLinesOverflowTheOutputBuffer() throws {
        // 300k empty lines in one read: 41 output bytes per input byte, several flushes.
        let (recs, _) = try records([[UInt8](repeating: 0x0A, count: 300_000)])
        #expect(recs.count == 300_000 && recs.allSatisfy { $0.tag == "F" && $0.text.isEmpty })
    }
}
