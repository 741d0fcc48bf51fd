import ArgumentParser
import DataKit

extension TileRenderer.Scaling: ExpressibleByArgument {}
