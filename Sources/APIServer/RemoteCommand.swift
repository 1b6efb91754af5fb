import Foundation
import KubeAPI
import NIOCore

/// The node's half of `kubectl exec`: what the kubelet's streaming server asks the container
/// runtime for (the CRI's `Exec`). `NodeAgent` implements it with the pod workers' running
/// containers; the API server only frames the streams.
public protocol StreamingRuntime: Sendable {
    /// Starts `command` in the running instance of `container`; throws
    /// `RemoteCommandError.containerNotFound` when none runs (the kubelet's `findContainer`).
    func exec(namespace: String, pod: String, uid: String, container: String, command: [String],
              stdin: Bool, tty: Bool) async throws -> any RemoteProcess
    /// The running instance of `container`'s stdio (the CRI's `Attach`); throws
    /// `RemoteCommandError.containerNotFound` when none runs.
    func attach(namespace: String, pod: String, uid: String, container: String) async throws -> any AttachedContainer
    /// Connects to `port` on the pod's loopback, inside its network namespace (the CRI's
    /// `PortForward`), and returns the connected socket, which the caller then owns; throws
    /// `PortForwardError` with the kubelet's text when it cannot.
    func portForward(namespace: String, pod: String, uid: String, port: UInt16) async throws(PortForwardError) -> Int32
}

/// A command started by `StreamingRuntime.exec`. The descriptors belong to whoever takes them
/// (the API server hands them to its event loop, which closes them).
public protocol RemoteProcess: Sendable {
    /// The write end of the command's stdin; nil without stdin or with a terminal.
    var stdin: Int32? { get }
    /// The read ends of its stdout and stderr; nil with a terminal.
    var stdout: Int32? { get }
    var stderr: Int32? { get }
    /// The pty master with a terminal: input and output both.
    var terminal: Int32? { get }
    /// The exit code, or the runtime's message when the command never started.
    func exitCode() async -> Result<Int32, RemoteCommandError>
    func resize(width: UInt16, height: UInt16)
    /// Kills the command and its process group: the client went away.
    func kill()
}

public enum RemoteCommandError: Error, Sendable {
    /// No running instance of the container: the kubelet's `container not found ("c")`.
    case containerNotFound(String)
    /// The runtime could not start the command (a missing binary, say).
    case startFailed(String)

    /// The `Status` the client gets on the error channel, worded as the kubelet's error reaches
    /// kubectl through the API server's stream translator.
    var status: JSONValue {
        switch self {
        case .containerNotFound(let name):
            RemoteCommandChannel.internalError("unable to upgrade connection: container not found (\"\(name)\")")
        case .startFailed(let message):
            RemoteCommandChannel.internalError("error executing command in container: failed to exec in container: \(message)")
        }
    }
}

/// `kubectl exec`'s request: `…/pods/P/exec?command=…&container=C&stdin=true&stdout=true&stderr=true&tty=true`,
/// flags present only when true, `command` repeated once per argument; `kubectl attach`'s is the
/// same on `…/attach` without a command.
struct RemoteCommandRequest: Sendable {
    /// `exec` or `attach`, which differ only in what the streams connect to.
    var subresource: String
    var namespace: String
    var pod: String
    var container: String?
    var command: [String]
    var stdin = false
    var stdout = false
    var stderr = false
    var tty = false

    /// The subresources served over WebSocket streams.
    static let subresources: Set<String> = ["exec", "attach"]

    /// From `/api/v1/namespaces/NS/pods/P/exec?…`; nil for any other path.
    init?(path: String, query: String?) {
        let segments = path.split(separator: "/").map(String.init)
        guard segments.count == 7, segments[0] == "api", segments[1] == "v1", segments[2] == "namespaces",
              segments[4] == "pods", Self.subresources.contains(segments[6]) else { return nil }
        subresource = segments[6]
        namespace = segments[3]
        pod = segments[5]
        command = []
        for pair in (query ?? "").split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            let value = kv.count > 1 ? kv[1] : ""
            // Go's strconv.ParseBool, which the API server's query decoding uses.
            let flag = ["1", "t", "T", "true", "TRUE", "True"].contains(value)
            switch kv[0] {
            case "command": command.append(value)
            case "container": container = value.isEmpty ? nil : value
            case "stdin": stdin = flag
            case "stdout": stdout = flag
            case "stderr": stderr = flag
            case "tty": tty = flag
            default: break
            }
        }
    }

    /// What the API server checks before it connects to the node (`ExecLocation`): the pod
    /// exists, the container is one of its containers, there is a stream to serve. Returns the
    /// container's name and the pod's uid.
    func validate(_ registry: Registry) throws(APIError) -> (container: String, uid: String) {
        let object = try registry.get(.pods, namespace: namespace, name: pod)
        guard let spec = try? object.decode(Pod.self) else { throw APIError.badRequest("pod \"\(pod)\" cannot be read") }
        let initNames = (spec.spec.initContainers ?? []).map(\.name)
        let names = spec.spec.containers.map(\.name)
        let name: String
        if let container {
            let ephemeralNames = (spec.spec.ephemeralContainers ?? []).map(\.name)
            guard names.contains(container) || initNames.contains(container) || ephemeralNames.contains(container) else {
                throw APIError.badRequest("container \(container) is not valid for pod \(pod)")
            }
            name = container
        } else if names.count == 1 {
            name = names[0]
        } else {
            var message = "a container name must be specified for pod \(pod), choose one of: [\(names.joined(separator: " "))]"
            if !initNames.isEmpty { message += " or one of the init containers: [\(initNames.joined(separator: " "))]" }
            throw APIError.badRequest(message)
        }
        guard stdin || stdout || stderr else {
            throw APIError.badRequest("you must specify at least 1 of stdin, stdout, stderr")
        }
        guard !command.isEmpty || subresource == "attach" else { throw APIError.badRequest("you must specify at least one command for the container") }
        return (name, spec.uid)
    }
}

/// The `v5.channel.k8s.io` framing (and `v4`, the same without the CLOSE signal): every
/// message is binary and its first byte names the stream.
enum RemoteCommandChannel {
    static let stdin: UInt8 = 0
    static let stdout: UInt8 = 1
    static let stderr: UInt8 = 2
    /// The final `metav1.Status`.
    static let error: UInt8 = 3
    /// Terminal size, `{"Width":W,"Height":H}`.
    static let resize: UInt8 = 4
    /// v5: `[255, ch]` — the client closed stream `ch` (stdin at EOF).
    static let close: UInt8 = 255

    /// The subprotocols served, best first. kubectl 1.32 offers only v5; v4 is what older
    /// clients (and the Python client) ask for.
    static let protocols = ["v5.channel.k8s.io", "v4.channel.k8s.io"]

    static func frame(_ channel: UInt8, _ payload: ByteBuffer) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(payload.readableBytes + 1)
        out.writeInteger(channel)
        out.writeImmutableBuffer(payload)
        return out
    }

    /// The status the kubelet sends when the command is over: `Success`, or `NonZeroExitCode`
    /// with the code as the `ExitCode` cause, from which kubectl takes its own exit code.
    static func exitStatus(_ code: Int32) -> JSONValue {
        if code == 0 { return .object(["metadata": .object([:]), "status": .string("Success")]) }
        return .object([
            "metadata": .object([:]), "status": .string("Failure"),
            "message": .string("command terminated with non-zero exit code: exit status \(code)"),
            "reason": .string("NonZeroExitCode"),
            "details": .object(["causes": .array([.object(["reason": .string("ExitCode"), "message": .string(String(code))])])]),
        ])
    }

    /// Any other failure after the upgrade, as the API server's stream translator reports it
    /// (`apierrors.NewInternalError`); kubectl prints the message and exits 1.
    static func internalError(_ message: String) -> JSONValue {
        .object([
            "metadata": .object([:]), "status": .string("Failure"), "message": .string("Internal error occurred: \(message)"),
            "reason": .string("InternalError"), "details": .object(["causes": .array([.object(["message": .string(message)])])]),
            "code": .int(500),
        ])
    }

    /// A resize message's size, or nil when it is not one.
    static func size(_ payload: ByteBufferView) -> (width: UInt16, height: UInt16)? {
        struct Size: Decodable {
            var Width: UInt16
            var Height: UInt16
        }
        guard let s = try? JSONDecoder().decode(Size.self, from: Data(payload)) else { return nil }
        return (s.Width, s.Height)
    }
}
