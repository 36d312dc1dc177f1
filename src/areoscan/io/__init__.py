"""areoscan.io"""
