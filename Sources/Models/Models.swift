import DataKit

/// Models: objectives, samplers, optimizers, networks, estimators and metrics for ES-SC and SDLGM.
/// The foundation issue only lays out the library; the model issues fill it.
public enum Models {
    /// The version of the model code, recorded in model files.
    public static let version = "0.2.0"
}
