import DataKit
