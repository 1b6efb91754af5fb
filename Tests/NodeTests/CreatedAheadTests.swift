import ContainerRuntime
import Testing
@testable import Node

/// Which containers `createAhead` leaves to their turn because their set-up would make a
/// directory inside a volume, judged on the container's own paths.
@Suite struct CreatedAheadTests {
    func spec(_ targets: [String]) -> ContainerSpec {
        ContainerSpec(id: "c", argv: ["true"], mounts: targets.map { BindMount(source: "/var/empty", target: $0) },
                      stateDir: "/nonexistent/state", logPath: "/nonexistent/0.log")
    }

    @Test func containerPathsAreCleanedLexically() {
        #expect(PodWorker.cleanContainerPath("/data/") == "/data")
        #expect(PodWorker.cleanContainerPath("//data/./conf") == "/data/conf")
        #expect(PodWorker.cleanContainerPath("/data/x/../conf") == "/data/conf")
        #expect(PodWorker.cleanContainerPath("/../..") == "/")
        // Never resolved against the host: /bin is a symlink to usr/bin on Debian.
        #expect(PodWorker.cleanContainerPath("/bin/tool") == "/bin/tool")
    }

    @Test func aMountBelowAnotherMakesADirectoryInAVolume() {
        #expect(PodWorker.makesDirectoriesInVolumes(spec(["/data", "/data/conf"])))
        #expect(PodWorker.makesDirectoriesInVolumes(spec(["/data/", "/data/./conf/"])))
        #expect(PodWorker.makesDirectoriesInVolumes(spec(["/", "/etc/hosts"])))
        #expect(!PodWorker.makesDirectoriesInVolumes(spec(["/data", "/database", "/etc/hosts"])))
        #expect(!PodWorker.makesDirectoriesInVolumes(spec(["/data", "/data/"])))
    }
}
