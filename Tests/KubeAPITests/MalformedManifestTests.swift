import Testing
@testable import KubeAPI

/// One manifest the API server refuses, and a substring of its message (with the field path).
struct Malformed: CustomTestStringConvertible, Sendable {
    let name: String
    let yaml: String
    let expected: String
    var testDescription: String { name }
    init(_ name: String, _ yaml: String, _ expected: String) {
        self.name = name
        self.yaml = yaml
        self.expected = expected
    }
}

let malformedManifests: [Malformed] = [
    // MARK: Decoding: YAML, shape, kinds, types, unknown fields
    Malformed("yaml syntax", "apiVersion: v1\nkind: Pod\nmetadata: name: x\n",
              "error converting YAML to JSON: yaml: line 3: mapping values are not allowed in this context"),
    Malformed("yaml parser error", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n labels: {}\n",
              "error converting YAML to JSON: yaml: line 4: did not find expected key"),
    Malformed("duplicate key", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n  name: y\n",
              "yaml: unmarshal errors:\n  line 5: key \"name\" already set in map"),
    Malformed("pod without spec", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", "The Pod \"x\" is invalid: spec.containers: Required value"),
    Malformed("missing metadata", "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", "metadata.name: Required value: name or generateName is required"),
    Malformed("not a mapping", "- just\n- a list\n", "json: cannot unmarshal array into Go value of type struct { APIVersion string"),
    Malformed("scalar document", "hello\n", "json: cannot unmarshal string into Go value of type struct"),
    Malformed("missing kind", "apiVersion: v1\nmetadata:\n  name: x\n", "kind not set"),
    Malformed("missing apiVersion", "kind: Pod\nmetadata:\n  name: x\n", "apiVersion not set"),
    Malformed("unknown kind", "apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n", "no matches for kind \"Foo\" in version \"v1\""),
    Malformed("wrong version", "apiVersion: v1\nkind: Deployment\nmetadata:\n  name: x\n", "no matches for kind \"Deployment\" in version \"v1\"\nensure CRDs are installed first"),
    Malformed("unknown field", containerYAML("    comand: [\"sh\"]"),
              "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: unknown field \"spec.containers[0].comand\""),
    Malformed("wrong type", containerYAML("    ports:\n    - containerPort: \"80\""),
              "json: cannot unmarshal string into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    Malformed("number too big for an int32", containerYAML("    ports:\n    - containerPort: 99999999999"),
              "json: cannot unmarshal number 99999999999 into Go struct field ContainerPort.spec.containers.ports.containerPort of type int32"),
    Malformed("fraction for an int64", podYAML("  terminationGracePeriodSeconds: 1.5\n  containers: [{name: c, image: busybox}]"),
              "json: cannot unmarshal number 1.5 into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    Malformed("wrong type for a struct", podYAML("  containers: 5"),
              "json: cannot unmarshal number into Go struct field PodSpec.spec.containers of type []v1.Container"),
    Malformed("quantity that is not text", containerYAML("    resources:\n      limits:\n        cpu: true"),
              "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    Malformed("bad quantity", containerYAML("    resources:\n      limits:\n        memory: 128Mb"),
              "Pod in version \"v1\" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    Malformed("bad base64", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  key: \"hello!\"\n",
              "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 5"),

    // MARK: Metadata
    Malformed("name required", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n",
              "metadata.name: Required value: name or generateName is required"),
    Malformed("name not a subdomain", podYAML("  containers:\n  - name: app\n    image: busybox", name: "Foo_bar"),
              "metadata.name: Invalid value: \"Foo_bar\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"),
    Malformed("service name DNS-1035", "apiVersion: v1\nkind: Service\nmetadata:\n  name: 1web\nspec:\n  ports:\n  - port: 80\n",
              "metadata.name: Invalid value: \"1web\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character"),
    Malformed("namespace name is a label", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a.b\n",
              "metadata.name: Invalid value: \"a.b\": a lowercase RFC 1123 label must consist of"),
    Malformed("label value", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    app: \"bad value\"\n",
              "metadata.labels: Invalid value: \"bad value\": a valid label must be an empty string or consist of alphanumeric characters"),
    Malformed("label key", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  labels:\n    a/b/c: x\n",
              "metadata.labels: Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters"),
    Malformed("annotation key", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  annotations:\n    \"-bad\": x\n",
              "metadata.annotations: Invalid value: \"-bad\": name part must consist of alphanumeric characters"),

    // MARK: Containers
    Malformed("containers required", podYAML("  containers: []"), "spec.containers: Required value"),
    Malformed("container name required", podYAML("  containers:\n  - name: \"\"\n    image: busybox"), "spec.containers[0].name: Required value"),
    Malformed("container name is a label", podYAML("  containers:\n  - name: App\n    image: busybox"),
              "spec.containers[0].name: Invalid value: \"App\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    Malformed("duplicate container", podYAML("  containers:\n  - name: app\n    image: busybox\n  - name: app\n    image: busybox"),
              "spec.containers[1].name: Duplicate value: \"app\""),
    Malformed("init name collides", podYAML("  initContainers:\n  - name: app\n    image: busybox\n  containers:\n  - name: app\n    image: busybox"),
              "spec.initContainers[0].name: Duplicate value: \"app\""),
    Malformed("image required", podYAML("  containers:\n  - name: app"), "spec.containers[0].image: Required value"),
    Malformed("pull policy", containerYAML("    imagePullPolicy: Sometimes"),
              "spec.containers[0].imagePullPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\""),

    // MARK: Restart policies
    Malformed("pod restartPolicy", containerYAML("", podExtra: "  restartPolicy: Sometimes"),
              "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\""),
    Malformed("init restartPolicy", podYAML("  initContainers:\n  - name: init\n    image: busybox\n    restartPolicy: Never\n  containers:\n  - name: app\n    image: busybox"),
              "spec.initContainers[0].restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""),
    Malformed("container restartPolicy", containerYAML("    restartPolicy: Always"),
              "spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"),

    // MARK: Probes and lifecycle
    Malformed("probe on classic init", podYAML("  initContainers:\n  - name: init\n    image: busybox\n    startupProbe:\n      exec:\n        command: [\"true\"]\n  containers:\n  - name: app\n    image: busybox"),
              "spec.initContainers[0].startupProbe: Forbidden: may not be set for init containers without restartPolicy=Always"),
    Malformed("lifecycle on classic init", podYAML("  initContainers:\n  - name: init\n    image: busybox\n    lifecycle:\n      preStop:\n        exec:\n          command: [\"true\"]\n  containers:\n  - name: app\n    image: busybox"),
              "spec.initContainers[0].lifecycle: Forbidden: may not be set for init containers without restartPolicy=Always"),
    Malformed("probe without handler", containerYAML("    livenessProbe:\n      periodSeconds: 5"),
              "spec.containers[0].livenessProbe: Required value: must specify a handler type"),
    Malformed("probe with two handlers", containerYAML("    readinessProbe:\n      exec:\n        command: [\"true\"]\n      tcpSocket:\n        port: 80"),
              "spec.containers[0].readinessProbe.tcpSocket: Forbidden: may not specify more than 1 handler type"),
    Malformed("liveness successThreshold", containerYAML("    livenessProbe:\n      successThreshold: 2\n      exec:\n        command: [\"true\"]"),
              "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1"),
    Malformed("negative probe timing", containerYAML("    readinessProbe:\n      initialDelaySeconds: -1\n      exec:\n        command: [\"true\"]"),
              "spec.containers[0].readinessProbe.initialDelaySeconds: Invalid value: -1: must be greater than or equal to 0"),
    Malformed("probe port out of range", containerYAML("    readinessProbe:\n      httpGet:\n        port: 70000"),
              "spec.containers[0].readinessProbe.httpGet.port: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    Malformed("probe port name invalid", containerYAML("    readinessProbe:\n      tcpSocket:\n        port: \"80\""),
              "spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: \"80\": must contain at least one letter (a-z)"),
    Malformed("sleep longer than grace", containerYAML("    lifecycle:\n      preStop:\n        sleep:\n          seconds: 60", podExtra: "  terminationGracePeriodSeconds: 10"),
              "spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be greater than 0 and less than terminationGracePeriodSeconds (10)"),

    // MARK: Volumes and mounts
    Malformed("volume name", containerYAML("", podExtra: "  volumes:\n  - name: Data\n    emptyDir: {}"),
              "spec.volumes[0].name: Invalid value: \"Data\": a lowercase RFC 1123 label"),
    Malformed("duplicate volume", containerYAML("", podExtra: "  volumes:\n  - name: x\n    emptyDir: {}\n  - name: x\n    emptyDir: {}"),
              "spec.volumes[1].name: Duplicate value: \"x\""),
    Malformed("two volume sources", containerYAML("", podExtra: "  volumes:\n  - name: x\n    emptyDir: {}\n    hostPath:\n      path: /tmp"),
              "spec.volumes[0].emptyDir: Forbidden: may not specify more than 1 volume type"),
    Malformed("mount of unknown volume", containerYAML("    volumeMounts:\n    - name: logs\n      mountPath: /logs"),
              "spec.containers[0].volumeMounts[0].name: Not found: \"logs\""),
    Malformed("mount path unique", containerYAML("    volumeMounts:\n    - name: x\n      mountPath: /x\n    - name: x\n      mountPath: /x", podExtra: "  volumes:\n  - name: x\n    emptyDir: {}"),
              "spec.containers[0].volumeMounts[1].mountPath: Invalid value: \"/x\": must be unique"),
    Malformed("mount path required", containerYAML("    volumeMounts:\n    - name: x\n      mountPath: \"\"", podExtra: "  volumes:\n  - name: x\n    emptyDir: {}"),
              "spec.containers[0].volumeMounts[0].mountPath: Required value"),
    Malformed("subPath backsteps", containerYAML("    volumeMounts:\n    - name: x\n      mountPath: /x\n      subPath: ../etc", podExtra: "  volumes:\n  - name: x\n    emptyDir: {}"),
              "spec.containers[0].volumeMounts.subPath: Invalid value: \"../etc\": must not contain '..'"),
    Malformed("hostPath type", containerYAML("", podExtra: "  volumes:\n  - name: x\n    hostPath:\n      path: /tmp\n      type: Folder"),
              "spec.volumes[0].hostPath.type: Unsupported value: \"Folder\": supported values: \"\", \"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", \"FileOrCreate\", \"Socket\""),
    Malformed("hostPath path required", containerYAML("", podExtra: "  volumes:\n  - name: x\n    hostPath:\n      path: \"\""),
              "spec.volumes[0].hostPath.path: Required value"),
    Malformed("item path absolute", containerYAML("", podExtra: "  volumes:\n  - name: x\n    configMap:\n      name: c\n      items:\n      - key: a\n        path: /abs"),
              "spec.volumes[0].configMap.items[0].path: Invalid value: \"/abs\": must be a relative path"),
    Malformed("default mode", containerYAML("", podExtra: "  volumes:\n  - name: x\n    secret:\n      secretName: s\n      defaultMode: 1000"),
              "spec.volumes[0].secret.defaultMode: Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive"),

    // MARK: Env
    Malformed("env name", containerYAML("    env:\n    - name: A=B\n      value: a"),
              "spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"),
    Malformed("envFrom prefix", containerYAML("    envFrom:\n    - prefix: \"caf\\u00e9_\"\n      configMapRef: {name: c}"),
              "spec.containers[0].envFrom[0].prefix: Invalid value: \"café_\": a valid environment variable name must consist only of printable ASCII characters other than '='"),
    Malformed("env value and valueFrom", containerYAML("    env:\n    - name: X\n      value: a\n      valueFrom:\n        fieldRef:\n          fieldPath: metadata.name"),
              "spec.containers[0].env[0].valueFrom: Invalid value: \"\": may not be specified when `value` is not empty"),
    Malformed("env valueFrom empty", containerYAML("    env:\n    - name: X\n      valueFrom: {}"),
              "spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
    Malformed("env fieldPath not allowed", containerYAML("    env:\n    - name: X\n      valueFrom:\n        fieldRef:\n          fieldPath: status.phase"),
              "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Unsupported value: \"status.phase\": supported values: \"metadata.name\", \"metadata.namespace\", \"metadata.uid\", \"spec.nodeName\", \"spec.serviceAccountName\", \"status.hostIP\", \"status.hostIPs\", \"status.podIP\", \"status.podIPs\""),
    Malformed("env fieldPath unknown", containerYAML("    env:\n    - name: X\n      valueFrom:\n        fieldRef:\n          fieldPath: spec.foo"),
              "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: \"spec.foo\": error converting fieldPath: field label not supported: spec.foo"),
    Malformed("configMapKeyRef key", containerYAML("    env:\n    - name: X\n      valueFrom:\n        configMapKeyRef:\n          name: c\n          key: \"a b\""),
              "spec.containers[0].env[0].valueFrom.configMapKeyRef.key: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),

    // MARK: Ports and resources
    Malformed("container port range", containerYAML("    ports:\n    - containerPort: 70000"),
              "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"),
    Malformed("port name too long", containerYAML("    ports:\n    - containerPort: 80\n      name: a-very-long-port-name"),
              "spec.containers[0].ports[0].name: Invalid value: \"a-very-long-port-name\": must be no more than 15 characters"),
    Malformed("port protocol", containerYAML("    ports:\n    - containerPort: 80\n      protocol: HTTP"),
              "spec.containers[0].ports[0].protocol: Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\""),
    Malformed("request above limit", containerYAML("    resources:\n      limits:\n        memory: 128Mi\n      requests:\n        memory: 256Mi"),
              "spec.containers[0].resources.requests: Invalid value: \"256Mi\": must be less than or equal to memory limit of 128Mi"),
    Malformed("unknown resource", containerYAML("    resources:\n      limits:\n        gpu: 1"),
              "spec.containers[0].resources.limits[gpu]: Invalid value: \"gpu\": must be a standard resource type or fully qualified"),
    Malformed("negative quantity", containerYAML("    resources:\n      requests:\n        cpu: \"-1\""),
              "spec.containers[0].resources.requests[cpu]: Invalid value: \"-1\": must be greater than or equal to 0"),

    // MARK: Pod-level numbers
    Malformed("negative grace", containerYAML("", podExtra: "  terminationGracePeriodSeconds: -1"),
              "spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0"),
    Malformed("zero deadline", containerYAML("", podExtra: "  activeDeadlineSeconds: 0"),
              "spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive"),

    // MARK: Job
    Malformed("job restartPolicy defaulted to Always", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          template:
            spec:
              containers: [{name: app, image: busybox}]
        """, "The Job \"j\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""),
    Malformed("job podFailurePolicy needs Never", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          podFailurePolicy:
            rules: [{action: Ignore, onExitCodes: {operator: In, values: [3]}}]
          template:
            spec:
              restartPolicy: OnFailure
              containers: [{name: app, image: busybox}]
        """, "spec.template.spec.restartPolicy: Invalid value: \"OnFailure\": only \"Never\" is supported when podFailurePolicy is specified"),
    Malformed("job negative backoff", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          backoffLimit: -1
          template:
            spec:
              restartPolicy: Never
              containers: [{name: app, image: busybox}]
        """, "spec.backoffLimit: Invalid value: -1: must be greater than or equal to 0"),
    Malformed("job completion mode", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          completionMode: Sometimes
          template:
            spec:
              restartPolicy: Never
              containers: [{name: app, image: busybox}]
        """, "spec.completionMode: Unsupported value: \"Sometimes\": supported values: \"NonIndexed\", \"Indexed\""),
    Malformed("indexed job needs completions", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          completionMode: Indexed
          parallelism: 2
          template:
            spec:
              restartPolicy: Never
              containers: [{name: app, image: busybox}]
        """, "spec.completions: Required value: when completion mode is Indexed"),
    Malformed("manual selector mismatch", """
        apiVersion: batch/v1
        kind: Job
        metadata: {name: j}
        spec:
          manualSelector: true
          selector: {matchLabels: {app: x}}
          template:
            metadata: {labels: {app: z}}
            spec:
              restartPolicy: Never
              containers: [{name: app, image: busybox}]
        """, "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"z\"}: `selector` does not match template `labels`"),

    // MARK: Deployment
    Malformed("deployment selector mismatch", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: z}}
          template:
            metadata: {labels: {app: x}}
            spec:
              containers: [{name: app, image: busybox}]
        """, "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"x\"}: `selector` does not match template `labels`"),
    Malformed("deployment selector required", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          template:
            spec:
              containers: [{name: app, image: busybox}]
        """, "spec.selector: Required value"),
    Malformed("deployment restartPolicy", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: x}}
          template:
            metadata: {labels: {app: x}}
            spec:
              restartPolicy: Never
              containers: [{name: app, image: busybox}]
        """, "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\""),
    Malformed("deployment surge and unavailable zero", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: x}}
          strategy:
            rollingUpdate: {maxSurge: 0, maxUnavailable: 0}
          template:
            metadata: {labels: {app: x}}
            spec:
              containers: [{name: app, image: busybox}]
        """, "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}: may not be 0 when `maxSurge` is 0"),
    Malformed("deployment strategy type", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          selector: {matchLabels: {app: x}}
          strategy: {type: BlueGreen}
          template:
            metadata: {labels: {app: x}}
            spec:
              containers: [{name: app, image: busybox}]
        """, "spec.strategy: Unsupported value: apps.DeploymentStrategy{Type:\"BlueGreen\", RollingUpdate:(*apps.RollingUpdateDeployment)(nil)}: supported values: \"Recreate\", \"RollingUpdate\""),
    Malformed("deployment negative replicas", """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: d}
        spec:
          replicas: -1
          selector: {matchLabels: {app: x}}
          template:
            metadata: {labels: {app: x}}
            spec:
              containers: [{name: app, image: busybox}]
        """, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),

    // MARK: CronJob
    Malformed("cron minute out of range", cronJobYAML(schedule: "61 * * * *"),
              "spec.schedule: Invalid value: \"61 * * * *\": end of range (61) above maximum (59): 61"),
    Malformed("cron field count", cronJobYAML(schedule: "* * * *"),
              "spec.schedule: Invalid value: \"* * * *\": expected exactly 5 fields, found 4: [* * * *]"),
    Malformed("cron bad name", cronJobYAML(schedule: "0 0 * FOO *"),
              "spec.schedule: Invalid value: \"0 0 * FOO *\": failed to parse int from FOO: strconv.Atoi: parsing \"FOO\": invalid syntax"),
    Malformed("cron zero step", cronJobYAML(schedule: "*/0 * * * *"),
              "spec.schedule: Invalid value: \"*/0 * * * *\": step of range should be a positive number: */0"),
    Malformed("cron descriptor", cronJobYAML(schedule: "@fortnightly"),
              "spec.schedule: Invalid value: \"@fortnightly\": unrecognized descriptor: @fortnightly"),
    Malformed("cron schedule required", cronJobYAML(schedule: ""), "spec.schedule: Required value"),
    Malformed("cron time zone", cronJobYAML(schedule: "0 * * * *", extra: "  timeZone: Mars/Olympus"),
              "spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"),
    Malformed("cron concurrency policy", cronJobYAML(schedule: "0 * * * *", extra: "  concurrencyPolicy: Sometimes"),
              "spec.concurrencyPolicy: Unsupported value: \"Sometimes\": supported values: \"Allow\", \"Forbid\", \"Replace\""),
    Malformed("cron job template restartPolicy", cronJobYAML(schedule: "0 * * * *", restartPolicy: "Always"),
              "spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""),

    // MARK: Service, ConfigMap, Secret
    Malformed("service ports required", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n",
              "spec.ports: Required value"),
    Malformed("service port pair twice", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - {name: a, port: 80}\n  - {name: b, port: 80, targetPort: 8080}\n",
              #"spec.ports[1]: Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}"#),
    Malformed("service port range", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 0\n",
              "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive"),
    Malformed("service port names", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n  - port: 81\n",
              "spec.ports[0].name: Required value"),
    Malformed("service type", "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: Magic\n  ports:\n  - port: 80\n",
              "spec.type: Unsupported value: \"Magic\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""),
    Malformed("configmap key", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  \"a b\": x\n",
              "data[a b]: Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"),
    Malformed("secret key", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  \"a/b\": x\n",
              "data[a/b]: Invalid value: \"a/b\": a valid config key must consist of alphanumeric characters"),
    Malformed("tls secret keys", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: x\n",
              "data[tls.key]: Required value"),
]

func cronJobYAML(schedule: String, extra: String = "", restartPolicy: String = "OnFailure") -> String {
    """
    apiVersion: batch/v1
    kind: CronJob
    metadata:
      name: c
    spec:
      schedule: "\(schedule)"
    \(extra)
      jobTemplate:
        spec:
          template:
            spec:
              restartPolicy: \(restartPolicy)
              containers:
              - name: app
                image: busybox
    """
}

@Suite struct MalformedManifestTests {
    @Test func tableHasEnoughCases() {
        #expect(malformedManifests.count >= 45)
    }

    @Test(arguments: malformedManifests)
    func rejectedLikeTheAPIServer(_ m: Malformed) {
        let message = manifestError(m.yaml)
        #expect(message != nil, "accepted: \(m.name)")
        if let message {
            #expect(message.contains(m.expected), "\(m.name)\n  got:      \(message)\n  expected: \(m.expected)")
        }
    }

    /// 1.32 validates env names the relaxed way (`RelaxedEnvironmentVariableValidation`, beta, on):
    /// a leading digit, a space or a `..` are fine, as `TestIsRelaxedEnvVarName`'s good values.
    @Test func relaxedEnvironmentVariableNamesAreAccepted() {
        let env = ["1X", "0 a", "a..", "-", "~a", "%a"].map { "    - {name: \"\($0)\", value: v}" }.joined(separator: "\n")
        #expect(manifestError(containerYAML("    env:\n" + env + "\n    envFrom:\n    - {prefix: \"1_\", configMapRef: {name: c}}")) == nil)
    }

    @Test func multipleErrorsAreListed() throws {
        let message = try #require(manifestError(podYAML("  containers:\n  - name: App\n    image: busybox\n  restartPolicy: Sometimes")))
        #expect(message.hasPrefix("error: test.yaml: The Pod \"p\" is invalid: \n* "))
        #expect(message.contains("* spec.containers[0].name: Invalid value: \"App\""))
        #expect(message.contains("* spec.restartPolicy: Unsupported value: \"Sometimes\""))
    }
}
