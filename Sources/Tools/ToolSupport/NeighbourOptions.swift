import ArgumentParser

/// `sk-eval` and `sk-encode`'s overrides of a supervised model's neighbour component (`sk-train sdlgm --neighbours`):
/// another K or weight α at prediction time, so that cross-validation can compare them without training again.
public struct NeighbourOptions: ParsableArguments {
    @Option(name: .customLong("neighbours"), parsing: .unconditional, help: ArgumentHelp("With a model trained with --neighbours: take each row's label distribution from its K most similar training rows instead of the K the model stores (supervised SDLGM).", valueName: "K"))
    public var count: Int?

    @Option(name: .customLong("neighbour-weight"), parsing: .unconditional, help: "With a model trained with --neighbours: α, the neighbours' weight in the blend, instead of the model's (0: the network alone; supervised SDLGM).")
    public var weight: Double?

    public init() {}
}
