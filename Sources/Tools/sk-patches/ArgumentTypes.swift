import ArgumentParser
import DataKit

extension PNGImage.ColorModel: ExpressibleByArgument {}
