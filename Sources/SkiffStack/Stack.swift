import SkiffWire
