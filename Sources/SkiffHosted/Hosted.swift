import SkiffStack
