import ArgumentParser
import CTandemInit

@main
struct Tandem: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tandem",
        abstract: "Runs Kubernetes Pods on this machine with the kubelet's lifecycle semantics.",
        subcommands: [Run.self, Serve.self, Delete.self, BenchCommand.self, Sidecar.self]
    )
}
