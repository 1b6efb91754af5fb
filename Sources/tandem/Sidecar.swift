import ArgumentParser

/// `tandem sidecar …`: the sidecar programs the seeds describe, shipped in the one binary. Each
/// is a drop-in for the program it stands in for and runs the same inside a real cluster (a
/// container whose command is `tandem sidecar …`); the image catalog maps the originals' images
/// to them so manifests run unchanged.
struct Sidecar: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Built-in sidecars: config validate/watch, log tail/forward, git-sync.",
        subcommands: [SidecarConfig.self, SidecarLogs.self, SidecarGitSync.self]
    )
}
