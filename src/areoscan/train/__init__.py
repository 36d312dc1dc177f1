"""areoscan.train"""
