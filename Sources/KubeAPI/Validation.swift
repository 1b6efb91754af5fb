/// API server validation (pkg/apis/core/validation and friends), with field paths.
public enum Validation {
    public static func validate(_ object: KubeObject) -> [FieldError] { [] }
}
