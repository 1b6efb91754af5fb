import Cgroups
import Foundation
import Node

extension Run {
    /// The node's cgroup tree, claimed (node-level cgroups made, an earlier Tandem's leftovers
    /// removed, except those of the pods in `keeping`, which a restarted `tandem serve` adopts);
    /// nil, with a warning, when this machine gives Tandem no cgroups to write.
    static func nodeCgroups(keeping: Set<String> = []) -> NodeCgroups? {
        guard let cgroups = NodeCgroups.detect() else {
            FileHandle.standardError.write(Data("warning: no writable cgroups: containers run without resource limits\n".utf8))
            return nil
        }
        do {
            try cgroups.claim(allocatableMilliCPU: NodeAllocatable.host.cpuMillis, keeping: keeping)
        } catch {
            FileHandle.standardError.write(Data("warning: cannot set up the node's cgroups (\(error)): containers run without resource limits\n".utf8))
            return nil
        }
        return cgroups
    }
}
