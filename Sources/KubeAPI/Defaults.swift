/// API server defaulting (pkg/apis/core/v1/defaults.go and friends).
public enum Defaults {
    public static func apply(_ object: inout KubeObject) {}
}
