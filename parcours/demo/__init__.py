"""Territoire de démonstration : générateur de flux RSA synthétiques et création du territoire.

Ce paquet n'est pas une application Django : il ne déclare aucun modèle.
"""
