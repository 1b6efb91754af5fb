import Foundation
import KubeAPI
import Testing

/// Malformed input run through the real `tandem` binary: each must be refused the way the API
/// server (and kubectl) refuse it — exit status 2, the message with its field path on stderr,
/// nothing on stdout, nothing left under `--root`, and no process ever started.
///
/// Every manifest carries the placeholder `MARKER` in a container command; it is replaced by a
/// marker unique to the row and the run, and /proc is scanned for it while tandem runs and after.
struct BadInput: CustomTestStringConvertible, Sendable {
    enum Invocation: Sendable {
        /// `tandem run --root R --timeout T -o json FILE`
        case file
        /// `tandem run --root R --timeout T -o json -` with the manifest on standard input.
        case stdin
        /// `tandem run --root R -o json /no/such/file.yaml`
        case missingFile
    }

    let name: String
    let yaml: String
    let expected: [String]
    var timeout = "20s"
    var output = true
    var args: [String] = []
    var invocation = Invocation.file

    var testDescription: String { name }

    init(_ name: String, _ yaml: String, _ expected: String..., timeout: String = "20s", output: Bool = true,
         args: [String] = [], invocation: Invocation = .file) {
        self.name = name
        self.yaml = yaml
        self.expected = expected
        self.timeout = timeout
        self.output = output
        self.args = args
        self.invocation = invocation
    }

    /// `tandem-badinput-<row>`, safe for a shell command line.
    var slug: String {
        String(name.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }
}

// MARK: Manifest builders

/// A container list entry (fields at column 4), running a long sleep that carries the marker.
private func ctr(_ name: String = "app", _ extra: String = "", image: String = "busybox") -> String {
    var s = "  - name: \(name)\n    image: \(image)\n    command: [\"sh\", \"-c\", \"sleep 30; echo MARKER\"]"
    if !extra.isEmpty { s += "\n" + extra }
    return s
}

/// A pod spec body (fields at column 2).
private func spec(_ containers: [String] = [ctr()], inits: [String] = [], extra: String = "") -> String {
    var s = ""
    if !inits.isEmpty { s += "  initContainers:\n" + inits.joined(separator: "\n") + "\n" }
    s += "  containers:\n" + containers.joined(separator: "\n") + "\n"
    if !extra.isEmpty { s += extra + "\n" }
    return s
}

private func pod(_ name: String = "p", _ body: String = spec(), meta: String = "") -> String {
    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: \(name)\n" + (meta.isEmpty ? "" : meta + "\n") + "spec:\n" + body
}

private func indent(_ text: String, _ n: Int) -> String {
    let pad = String(repeating: " ", count: n)
    return text.split(separator: "\n", omittingEmptySubsequences: false)
        .map { $0.isEmpty ? "" : pad + $0 }.joined(separator: "\n")
}

/// A Job; `fields` are more lines of its spec (column 0), `labels` its template's labels.
private func job(_ body: String = spec(extra: "  restartPolicy: Never"), fields: String = "", labels: String? = nil) -> String {
    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\nspec:\n" + (fields.isEmpty ? "" : indent(fields, 2) + "\n")
        + "  template:\n" + (labels.map { "    metadata:\n      labels: {\($0)}\n" } ?? "") + "    spec:\n" + indent(body, 4)
}

private func deployment(selector: String, labels: String, replicas: Int? = nil) -> String {
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: d
    spec:\(replicas.map { "\n  replicas: \($0)" } ?? "")
      selector:
        matchLabels: {\(selector)}
      template:
        metadata:
          labels: {\(labels)}
        spec:

    """ + indent(spec(), 4)
}

private func cronJob(schedule: String) -> String {
    """
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: c
    spec:
      schedule: "\(schedule)"
      jobTemplate:
        spec:
          template:
            spec:

    """ + indent(spec(extra: "  restartPolicy: OnFailure"), 8)
}

private let initForbidden = "may not be set for init containers without restartPolicy=Always"

// MARK: The table

let badInputs: [BadInput] = [
    // MARK: Wrong types
    BadInput("string for int", pod("p", spec(extra: "  terminationGracePeriodSeconds: \"30\"")),
             "json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    BadInput("string for int32 port", pod("p", spec([ctr("app", "    ports:\n    - containerPort: \"80\"")])),
             "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    BadInput("object for list", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    name: app\n    image: busybox\n    command: [\"sh\", \"-c\", \"sleep 30; echo MARKER\"]\n",
             "json: cannot unmarshal object into Go struct field PodSpec.spec.containers of type []v1.Container"),
    BadInput("int for string", pod("p", spec(["  - name: app\n    image: 5\n    command: [\"sh\", \"-c\", \"sleep 30; echo MARKER\"]"])),
             "json: cannot unmarshal number into Go struct field Container.spec.containers.image of type string"),

    // MARK: Missing names
    BadInput("pod name missing", "apiVersion: v1\nkind: Pod\nmetadata:\n  labels: {a: b}\nspec:\n" + spec(),
             "metadata.name: Required value: name or generateName is required"),
    BadInput("container name missing", pod("p", spec(["  - image: busybox\n    command: [\"sh\", \"-c\", \"sleep 30; echo MARKER\"]"])),
             "The Pod \"p\" is invalid", "spec.containers[0].name: Required value"),
    BadInput("volume name missing", pod("p", spec(extra: "  volumes:\n  - emptyDir: {}")),
             "spec.volumes[0].name: Required value"),

    // MARK: Duplicate container names
    BadInput("duplicate regular containers", pod("p", spec([ctr("app"), ctr("app")])),
             "spec.containers[1].name: Duplicate value: \"app\""),
    BadInput("duplicate init and regular", pod("p", spec([ctr("app")], inits: [ctr("app")])),
             "spec.initContainers[0].name: Duplicate value: \"app\""),

    // MARK: Probes and lifecycle on classic init containers
    BadInput("startupProbe on init", pod("p", spec(inits: [ctr("init", "    startupProbe:\n      exec:\n        command: [\"true\"]")])),
             "spec.initContainers[0].startupProbe: Forbidden: \(initForbidden)"),
    BadInput("livenessProbe on init", pod("p", spec(inits: [ctr("init", "    livenessProbe:\n      exec:\n        command: [\"true\"]")])),
             "spec.initContainers[0].livenessProbe: Forbidden: \(initForbidden)"),
    BadInput("readinessProbe on init", pod("p", spec(inits: [ctr("init", "    readinessProbe:\n      exec:\n        command: [\"true\"]")])),
             "spec.initContainers[0].readinessProbe: Forbidden: \(initForbidden)"),
    BadInput("lifecycle on init", pod("p", spec(inits: [ctr("init", "    lifecycle:\n      postStart:\n        exec:\n          command: [\"true\"]")])),
             "spec.initContainers[0].lifecycle: Forbidden: \(initForbidden)"),

    // MARK: Unknown fields
    BadInput("unknown top-level field", pod() + "spek: {}\n",
             "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spek\""),
    BadInput("unknown container field", pod("p", spec([ctr("app", "    comand: [\"sh\"]")])),
             "unknown field \"spec.containers[0].comand\""),
    BadInput("unknown probe field", pod("p", spec([ctr("app", "    livenessProbe:\n      exec:\n        cmd: [\"true\"]")])),
             "unknown field \"spec.containers[0].livenessProbe.exec.cmd\""),
    BadInput("unknown volume field", pod("p", spec(extra: "  volumes:\n  - name: data\n    emptydir: {}")),
             "unknown field \"spec.volumes[0].emptydir\""),

    // MARK: Bad durations (a valid, long-running manifest: only the flag is wrong)
    // BUG: Sources/tandem/Run.swift, GoDuration.parse returns nil for every failure and
    // Run.execute always prints `time: invalid duration "<v>"`. Go's time.ParseDuration (which
    // kubectl's duration flags use) says `time: unknown unit "x" in duration "5x"` here.
    BadInput("timeout 5x", pod(), "invalid argument \"5x\" for \"--timeout\" flag", "time: unknown unit \"x\" in duration \"5x\"", timeout: "5x"),
    BadInput("timeout abc", pod(), "invalid argument \"abc\" for \"--timeout\" flag: time: invalid duration \"abc\"", timeout: "abc"),
    // BUG: same cause: Go says `time: missing unit in duration "5"`; tandem says `time: invalid duration "5"`.
    BadInput("timeout without unit", pod(), "invalid argument \"5\" for \"--timeout\" flag: time: missing unit in duration \"5\"", timeout: "5"),

    // MARK: Image not in the catalog
    BadInput("unknown image", pod("p", spec([ctr("app", image: "registry.example/nosuch:1.0")])),
             "spec.containers[0].image: Invalid value: \"registry.example/nosuch:1.0\"", "--images"),
    BadInput("unknown image in init", pod("p", spec(inits: [ctr("init", image: "nosuch")])),
             "spec.initContainers[0].image: Invalid value: \"nosuch\"", "--images"),

    // MARK: YAML syntax
    BadInput("yaml bad indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n labels: {}\nspec:\n" + spec(),
             "error converting YAML to JSON: yaml: line", "did not find expected key"),
    BadInput("yaml tab", "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: p\nspec:\n" + spec(),
             "error converting YAML to JSON: yaml: line 4: found character that cannot start any token"),
    BadInput("yaml unclosed quote", pod() + "  hostname: \"p\n",
             "error converting YAML to JSON: yaml: line", "found unexpected end of stream"),
    BadInput("yaml mapping in scalar", "apiVersion: v1\nkind: Pod\nmetadata: name: p\nspec:\n" + spec(),
             "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context"),

    // MARK: Kinds and versions
    BadInput("unknown kind", "apiVersion: v1\nkind: Poddy\nmetadata:\n  name: p\nspec:\n" + spec(),
             "no matches for kind \"Poddy\" in version \"v1\""),
    BadInput("wrong apiVersion for Pod", "apiVersion: apps/v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n" + spec(),
             "no matches for kind \"Pod\" in version \"apps/v1\""),
    BadInput("wrong apiVersion for Deployment", deployment(selector: "app: x", labels: "app: x").replacingOccurrences(of: "apps/v1", with: "v1"),
             "no matches for kind \"Deployment\" in version \"v1\""),
    BadInput("missing kind", "apiVersion: v1\nmetadata:\n  name: p\nspec:\n" + spec(), "kind not set"),

    // MARK: Restart policies
    BadInput("pod restartPolicy", pod("p", spec(extra: "  restartPolicy: Sometimes")),
             "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
    BadInput("init restartPolicy Never", pod("p", spec(inits: [ctr("init", "    restartPolicy: Never")])),
             "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""),
    BadInput("regular container restartPolicy", pod("p", spec([ctr("app", "    restartPolicy: Always")])),
             "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"),

    // MARK: Invalid names
    BadInput("pod name uppercase", pod("MyPod"),
             "metadata.name: Invalid value: \"MyPod\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"),
    BadInput("pod name underscore", pod("my_pod"),
             "metadata.name: Invalid value: \"my_pod\": a lowercase RFC 1123 subdomain"),
    BadInput("container name uppercase", pod("p", spec([ctr("App")])),
             "spec.containers[0].name: Invalid value: \"App\": a lowercase RFC 1123 label must consist of"),

    // MARK: Env
    BadInput("env name not ASCII", pod("p", spec([ctr("app", "    env:\n    - name: \"\\u00c4RGER\"\n      value: a")])),
             "spec.containers[0].env[0].name: Invalid value: \"ÄRGER\": a valid environment variable name must consist only of printable ASCII characters other than '='"),
    BadInput("env name with equals", pod("p", spec([ctr("app", "    env:\n    - name: A=B\n      value: a")])),
             "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"),
    BadInput("env value and valueFrom", pod("p", spec([ctr("app", "    env:\n    - name: X\n      value: a\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.name")])),
             "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"),
    BadInput("env valueFrom two sources", pod("p", spec([ctr("app", "    env:\n    - name: X\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.name\n        configMapKeyRef:\n          name: c\n          key: k")])),
             "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not have more than one field specified at a time"),
    BadInput("env valueFrom empty", pod("p", spec([ctr("app", "    env:\n    - name: X\n      valueFrom: {}")])),
             "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),

    // MARK: Volumes and mounts
    BadInput("mount of missing volume", pod("p", spec([ctr("app", "    volumeMounts:\n    - name: logs\n      mountPath: /logs")])),
             "spec.containers[0].volumeMounts[0].name: Not found: \"logs\""),
    BadInput("duplicate mountPath", pod("p", spec([ctr("app", "    volumeMounts:\n    - name: x\n      mountPath: /x\n    - name: z\n      mountPath: /x")],
                                                  extra: "  volumes:\n  - name: x\n    emptyDir: {}\n  - name: z\n    emptyDir: {}")),
             "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/x\": must be unique"),
    // go-yaml v2 (YAML 1.1) reads a plain `yes` or `y` as a boolean, as kubectl does.
    BadInput("yes is a boolean in YAML 1.1", pod("p", meta: "  labels:\n    enabled: yes"),
             "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels"),
    BadInput("hostPath type invalid", pod("p", spec(extra: "  volumes:\n  - name: x\n    hostPath:\n      path: /tmp\n      type: Folder")),
             "spec.volumes[0].hostPath.type: Unsupported value: \"Folder\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""),
    BadInput("duplicate volume name", pod("p", spec(extra: "  volumes:\n  - name: x\n    emptyDir: {}\n  - name: x\n    emptyDir: {}")),
             "spec.volumes[1].name: Duplicate value: \"x\""),

    // MARK: Probes
    BadInput("probe with two handlers", pod("p", spec([ctr("app", "    readinessProbe:\n      exec:\n        command: [\"true\"]\n      tcpSocket:\n        port: 80")])),
             "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"),
    BadInput("probe without handler", pod("p", spec([ctr("app", "    livenessProbe:\n      periodSeconds: 5")])),
             "spec.containers[0].livenessProbe: Required value: must specify a handler type"),
    BadInput("liveness successThreshold 2", pod("p", spec([ctr("app", "    livenessProbe:\n      successThreshold: 2\n      exec:\n        command: [\"true\"]")])),
             "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    BadInput("startup successThreshold 2", pod("p", spec([ctr("app", "    startupProbe:\n      successThreshold: 2\n      exec:\n        command: [\"true\"]")])),
             "spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1"),

    // MARK: Ports, resources, numbers
    BadInput("container port out of range", pod("p", spec([ctr("app", "    ports:\n    - containerPort: 70000")])),
             "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    BadInput("probe port out of range", pod("p", spec([ctr("app", "    readinessProbe:\n      httpGet:\n        port: 0")])),
             "spec.containers[0].readinessProbe.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    BadInput("invalid quantity 128Mb", pod("p", spec([ctr("app", "    resources:\n      limits:\n        memory: 128Mb")])),
             "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    BadInput("limits below requests", pod("p", spec([ctr("app", "    resources:\n      limits:\n        cpu: 100m\n      requests:\n        cpu: 200m")])),
             "spec.containers[0].resources.requests: Invalid value: \"200m\": must be less than or equal to cpu limit of 100m"),
    BadInput("malformed quantity abc", pod("p", spec([ctr("app", "    resources:\n      requests:\n        cpu: abc")])),
             "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    BadInput("memory limit below request", pod("p", spec([ctr("app", "    resources:\n      limits:\n        memory: 64Mi\n      requests:\n        memory: 128Mi")])),
             "spec.containers[0].resources.requests: Invalid value: \"128Mi\": must be less than or equal to memory limit of 64Mi"),
    BadInput("negative runAsUser", pod("p", spec([ctr("app", "    securityContext:\n      runAsUser: -1")])),
             "spec.containers[0].securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"),
    BadInput("pod fsGroup out of range", pod("p", spec(extra: "  securityContext:\n    fsGroup: 2147483648")),
             "spec.securityContext.fsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive"),
    BadInput("privileged without privilege escalation", pod("p", spec([ctr("app", "    securityContext:\n      privileged: true\n      allowPrivilegeEscalation: false")])),
             "spec.containers[0].securityContext: Invalid value: core.SecurityContext{",
             "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"),
    BadInput("negative terminationGracePeriodSeconds", pod("p", spec(extra: "  terminationGracePeriodSeconds: -1")),
             "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"),

    // MARK: Workloads
    BadInput("job restartPolicy Always", job(spec(extra: "  restartPolicy: Always")),
             "The Job \"j\" is invalid", "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""),
    BadInput("job restartPolicy defaulted", job(spec()),
             "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""),
    BadInput("deployment selector mismatch", deployment(selector: "app: z", labels: "app: x"),
             "The Deployment \"d\" is invalid",
             "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"),
    BadInput("cronjob schedule out of range", cronJob(schedule: "61 * * * *"),
             "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"),
    BadInput("cronjob schedule field count", cronJob(schedule: "* * *"),
             "spec.schedule: Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]"),
    BadInput("cronjob schedule with TZ", cronJob(schedule: "TZ=UTC * * * * *"),
             "spec.schedule: Invalid value: \"TZ=UTC * * * * *\": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"),
    BadInput("cronjob schedule day of week out of range", cronJob(schedule: "* * * * 8"),
             "spec.schedule: Invalid value: \"* * * * 8\": end of range (8) above maximum (6): 8"),
    BadInput("cronjob schedule step zero", cronJob(schedule: "*/0 * * * *"),
             "spec.schedule: Invalid value: \"*/0 * * * *\": step of range should be a positive number: */0"),
    BadInput("deployment negative replicas", deployment(selector: "app: x", labels: "app: x", replicas: -1),
             "The Deployment \"d\" is invalid", "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    BadInput("replicaset negative replicas",
             deployment(selector: "app: x", labels: "app: x", replicas: -2).replacingOccurrences(of: "kind: Deployment", with: "kind: ReplicaSet"),
             "The ReplicaSet \"d\" is invalid", "spec.replicas: Invalid value: -2: must be greater than or equal to 0"),
    BadInput("replicaset selector mismatch",
             deployment(selector: "app: z", labels: "app: x").replacingOccurrences(of: "kind: Deployment", with: "kind: ReplicaSet"),
             "The ReplicaSet \"d\" is invalid",
             "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"),
    BadInput("job manual selector mismatch",
             job(spec(extra: "  restartPolicy: Never"), fields: "manualSelector: true\nselector:\n  matchLabels: {app: z}", labels: "app: x"),
             "The Job \"j\" is invalid",
             "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"),
    BadInput("job selector without manualSelector",
             job(spec(extra: "  restartPolicy: Never"), fields: "selector:\n  matchLabels: {app: x}", labels: "app: x"),
             "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"x\"}"),
    BadInput("job negative parallelism and completions", job(fields: "parallelism: -1\ncompletions: -1"),
             "spec.parallelism: Invalid value: -1: must be greater than or equal to 0",
             "spec.completions: Invalid value: -1: must be greater than or equal to 0"),
    // The API server takes completions below parallelism (the controller runs no more pods than
    // completions remain) except where Indexed mode bounds them.
    BadInput("indexed job without completions", job(fields: "completionMode: Indexed\nparallelism: 3"),
             "spec.completions: Required value: when completion mode is Indexed"),
    BadInput("indexed job parallelism above completions and limit", job(fields: "completionMode: Indexed\ncompletions: 1\nparallelism: 100001"),
             "spec.parallelism: Invalid value: 100001: must be less than or equal to 100000 when completion mode is Indexed"),

    BadInput("shareProcessNamespace with hostPID", pod("p", spec(extra: "  shareProcessNamespace: true\n  hostPID: true")),
             "spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"),

    // MARK: Admission: namespaces, duplicates
    BadInput("namespace not found", pod("p", meta: "  namespace: nope"), "namespaces \"nope\" not found"),
    BadInput("duplicate pods in one file", pod("x") + "---\n" + pod("x"), "pods \"x\" already exists"),
    BadInput("same name in other namespace is fine but missing ns is not",
             pod("x") + "---\n" + pod("x", meta: "  namespace: other"), "namespaces \"other\" not found"),

    // MARK: Empty input, files, flags
    BadInput("empty file", "", "error: no objects passed to"),
    BadInput("only comments and separators", "# nothing here\n---\n---\n", "error: no objects passed to"),
    BadInput("file does not exist", pod(), "error: the path \"", "\" does not exist", invocation: .missingFile),
    BadInput("bad output format", pod(), "error: unable to match a printer suitable for the output format \"xml\"",
             output: false, args: ["-o", "xml"]),

    // MARK: Multi-document: only the 3rd is bad; nothing from 1–2 may start
    BadInput("third document bad", pod("first") + "---\n" + pod("second") + "---\n" + pod("third", spec([ctr("Bad_Name")])),
             "The Pod \"third\" is invalid", "spec.containers[0].name: Invalid value: \"Bad_Name\""),
    BadInput("third document yaml error", pod("first") + "---\n" + pod("second") + "---\napiVersion: v1\nkind: Pod\nmetadata: name: third\n",
             "error converting YAML to JSON: yaml: line"),

    // MARK: JSON input and standard input
    BadInput("json input wrong type",
             #"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, "spec": {"containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "sleep 30; echo MARKER"], "ports": [{"containerPort": "80"}]}]}}"#,
             "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    BadInput("json input validation",
             #"{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"}, "spec": {"restartPolicy": "Sometimes", "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-c", "sleep 30; echo MARKER"]}]}}"#,
             "The Pod \"j\" is invalid", "spec.restartPolicy: Unsupported value: \"Sometimes\""),
    BadInput("stdin validation error", pod("p", spec([ctr("app"), ctr("app")])),
             "spec.containers[1].name: Duplicate value: \"app\"", invocation: .stdin),
    BadInput("stdin multi-document", pod("first") + "---\n" + pod("p", spec(extra: "  restartPolicy: Sometimes")),
             "spec.restartPolicy: Unsupported value: \"Sometimes\"", invocation: .stdin),

    // MARK: Services
    BadInput("service clusterIP not an IP", pod() + "---\n" + service("  clusterIP: 10.96.0.300\n  ports:\n  - port: 80"),
             "The Service \"s\" is invalid", "spec.clusterIPs[0]: Invalid value: \"10.96.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
    BadInput("service clusterIP outside the range", pod() + "---\n" + service("  clusterIP: 10.0.0.7\n  ports:\n  - port: 80"),
             "spec.clusterIPs: Invalid value: []string{\"10.0.0.7\"}: failed to allocate IP 10.0.0.7: the provided IP (10.0.0.7) is not in the valid range. The range of valid IPs is 10.96.0.0/16"),
    BadInput("service without ports", pod() + "---\n" + service(""),
             "The Service \"s\" is invalid", "spec.ports: Required value"),
    BadInput("service port out of range", pod() + "---\n" + service("  ports:\n  - port: 70000"),
             "spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    BadInput("service protocol", pod() + "---\n" + service("  ports:\n  - port: 80\n    protocol: HTTP"),
             "spec.ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
    BadInput("service nodePort on a ClusterIP service", pod() + "---\n" + service("  ports:\n  - port: 80\n    nodePort: 30080"),
             "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"),
    BadInput("service nodePort outside the range", pod() + "---\n" + service("  type: NodePort\n  ports:\n  - port: 80\n    nodePort: 8080"),
             "spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range. The range of valid ports is 30000-32767"),
    BadInput("service headless targetPort", pod() + "---\n" + service("  clusterIP: None\n  ports:\n  - port: 80\n    targetPort: 8080"),
             "spec.ports[0].targetPort: Invalid value: 8080: must be equal to the value of 'port' when clusterIP = None"),
    BadInput("service selector label value", pod() + "---\n" + service("  selector: {app: \"-bad\"}\n  ports:\n  - port: 80"),
             "spec.selector: Invalid value: \"-bad\""),
    BadInput("service type", pod() + "---\n" + service("  type: Internal\n  ports:\n  - port: 80"),
             "spec.type: Unsupported value: \"Internal\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
]

/// A Service named `s`; `fields` are the lines of its spec (column 2).
private func service(_ fields: String) -> String {
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n" + (fields.isEmpty ? "  selector: {app: x}\n" : fields + "\n")
}

// MARK: Running a row

extension Tandem {
    /// What a bad-input run leaves behind.
    struct BadRun {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Files and directories under --root afterwards (relative paths).
        var leftovers: [String]
        /// PIDs carrying the row's marker seen at any poll during the run, or after it.
        var markerPIDs: Set<Int32>
        var marker = ""
    }

    /// Runs `row` through the binary (via `Tandem.run`, keeping the root for inspection) while
    /// polling /proc for the row's marker.
    static func runBad(_ row: BadInput) throws -> BadRun {
        let marker = "tandem-badinput-\(row.slug)-\(UUID().uuidString.prefix(8).lowercased())"
        let yaml = row.yaml.replacingOccurrences(of: "MARKER", with: marker)

        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var done = false
            var result: Swift.Result<BadRun, any Error>?
        }
        let shared = Shared()
        let worker = Thread {
            let r: Swift.Result<BadRun, any Error> = Swift.Result {
                switch row.invocation {
                case .file, .stdin:
                    let res = try Tandem.run(yaml, args: row.args, timeout: row.timeout, output: row.output,
                                             stdin: row.invocation == .stdin ? yaml : nil, keepRoot: true)
                    defer { Tandem.cleanup(res) }
                    return BadRun(status: res.status, stdout: res.stdout, stderr: res.stderr,
                                  leftovers: contents(of: res.root), markerPIDs: [])
                case .missingFile:
                    let root = try Tandem.tempDir("tandem-e2e-root")
                    defer { try? FileManager.default.removeItem(atPath: root) }
                    let missing = NSTemporaryDirectory() + "tandem-badinput-missing-\(UUID().uuidString.prefix(8))/pod.yaml"
                    let res = try Tandem.exec(Tandem.binary, ["run", "--root", root, "--timeout", row.timeout, "-o", "json", missing])
                    return BadRun(status: res.status, stdout: res.stdout, stderr: res.stderr,
                                  leftovers: contents(of: root), markerPIDs: [])
                }
            }
            shared.lock.lock()
            shared.result = r
            shared.done = true
            shared.lock.unlock()
        }
        worker.start()
        var seen: Set<Int32> = []
        while true {
            seen.formUnion(processes(containing: marker))
            shared.lock.lock()
            let done = shared.done
            shared.lock.unlock()
            if done { break }
            usleep(10_000)
        }
        seen.formUnion(processes(containing: marker))
        var run = try shared.result!.get()
        run.markerPIDs = seen
        run.marker = marker
        return run
    }

    /// Every path under `root` (recursively); empty when root is absent or empty.
    static func contents(of root: String) -> [String] {
        guard let e = FileManager.default.enumerator(atPath: root) else { return [] }
        return e.compactMap { $0 as? String }.sorted()
    }
}

@Suite struct BadInputTests {
    @Test func tableHasEnoughRows() {
        #expect(badInputs.count >= 45)
        #expect(Set(badInputs.map(\.name)).count == badInputs.count, "row names must be unique")
    }

    /// The positive control for the /proc scan: a valid manifest's container is seen running.
    @Test func markerScanSeesAStartedContainer() throws {
        let r = try Tandem.runBad(BadInput("valid pod", pod("p", spec(extra: "  terminationGracePeriodSeconds: 1")), timeout: "2s"))
        #expect(r.status != 2, "\(r.stderr)")
        #expect(!r.markerPIDs.isEmpty, "the /proc scan did not see the container: it could not prove that nothing starts")
        for pid in processes(containing: r.marker) where !r.marker.isEmpty { kill(pid, SIGKILL) }
    }

    @Test(.timeLimit(.minutes(1)), arguments: badInputs)
    func refusedLikeTheAPIServer(_ row: BadInput) throws {
        let r = try Tandem.runBad(row)
        #expect(r.status == 2, "\(row.name): exit status \(r.status)\nstderr: \(r.stderr)")
        for e in row.expected {
            #expect(r.stderr.contains(e), "\(row.name)\n  stderr:   \(r.stderr)\n  expected: \(e)")
        }
        #expect(r.stdout.isEmpty, "\(row.name): stdout: \(r.stdout.prefix(500))")
        #expect(r.leftovers.isEmpty, "\(row.name): left under --root: \(r.leftovers.prefix(20))")
        #expect(r.markerPIDs.isEmpty, "\(row.name): processes started: \(r.markerPIDs.sorted())")
        // Whatever started (it must not), do not leave it running.
        for pid in processes(containing: r.marker) where !r.marker.isEmpty { kill(pid, SIGKILL) }
    }
}
