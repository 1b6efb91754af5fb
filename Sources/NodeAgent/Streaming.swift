import APIServer
import ContainerRuntime
import Node

/// The kubelet's streaming side of `kubectl exec`: the command runs in the running instance
/// of the container, through the same runtime as exec probes, with the container's
/// environment, working directory and securityContext identity.
extension NodeAgent: StreamingRuntime {
    public func exec(namespace: String, pod: String, uid: String, container: String, command: [String],
                     stdin: Bool, tty: Bool) async throws -> any RemoteProcess {
        guard let entry = workers["\(namespace)/\(pod)"], entry.uid == uid,
              let running = await entry.worker.runningContainer(named: container) else {
            throw RemoteCommandError.containerNotFound(container)
        }
        return try ctx.runtime.streamExec(in: running.process, argv: command, env: running.env, workingDir: running.workingDir,
                                          stdin: stdin, tty: tty)
    }

    public func attach(namespace: String, pod: String, uid: String, container: String) async throws -> any AttachedContainer {
        guard let entry = workers["\(namespace)/\(pod)"], entry.uid == uid,
              let running = await entry.worker.runningContainer(named: container) else {
            throw RemoteCommandError.containerNotFound(container)
        }
        return running.process.stdio
    }
}

extension ContainerStdio: AttachedContainer {}

extension StreamingExec: RemoteProcess {
    public func exitCode() async -> Result<Int32, RemoteCommandError> {
        await wait().mapError { RemoteCommandError.startFailed($0.message) }
    }
}
